"""Reads of the outbox."""

from collections.abc import Iterable
from datetime import datetime

from django.db.models import QuerySet

from icb.tenancy.models import Company

from .models import Event


def events_between(
    *, company: Company, types: Iterable[str], after: datetime | None, until: datetime
) -> QuerySet[Event]:
    """The company's events of `types` recorded after `after` (all, for None) up to and
    including `until`, oldest first."""
    events = Event.objects.for_company(company).filter(type__in=list(types), created_at__lte=until)
    if after is not None:
        events = events.filter(created_at__gt=after)
    return events.order_by("id")
