"""Recording an event: called by any app, inside its own transaction, so the event
exists if and only if the change it tells of was committed."""

import json
from datetime import datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from icb.common.errors import InvalidInput
from icb.tenancy.models import Company

from .models import Event
from .types import EVENT_TYPES


def record_event(
    *,
    company: Company | int,
    type: str,
    payload: dict[str, Any],
    at: datetime | None = None,
) -> Event:
    """Store an event of `company` (a Company or its id). The payload is made JSON here:
    Decimals become strings ("12.50"), datetimes ISO 8601, so a caller may pass its
    values as they are. The shapes per type are in docs/webhooks.md."""
    if type not in EVENT_TYPES:
        raise InvalidInput(f"Unknown event type “{type}”.", field="type")
    company_id = company if isinstance(company, int) else company.pk
    data = json.loads(json.dumps(payload, cls=DjangoJSONEncoder))
    return Event.objects.create(
        company_id=company_id, type=type, payload=data, created_at=at or timezone.now()
    )


def record_events(
    *, company: Company | int, type: str, payloads: list[dict[str, Any]], at: datetime | None = None
) -> None:
    """Store many events of one type at once (one INSERT per few hundred): a sync batch
    may hold thousands of changes. Payloads are made JSON as by record_event."""
    if type not in EVENT_TYPES:
        raise InvalidInput(f"Unknown event type “{type}”.", field="type")
    if not payloads:
        return
    company_id = company if isinstance(company, int) else company.pk
    created_at = at or timezone.now()
    Event.objects.bulk_create(
        [
            Event(
                company_id=company_id,
                type=type,
                payload=json.loads(json.dumps(payload, cls=DjangoJSONEncoder)),
                created_at=created_at,
            )
            for payload in payloads
        ],
        batch_size=500,
    )
