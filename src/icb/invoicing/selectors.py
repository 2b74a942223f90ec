"""Reads of invoicing's settings."""

from django.db.models import QuerySet

from icb.hub.models import Module
from icb.tenancy.models import Company


def billing_modules(*, company: Company) -> QuerySet[Module]:
    """The company's current modules, whose revenue account codes the settings page sets."""
    return Module.objects.for_company(company).filter(removed_at=None).order_by("name", "id")
