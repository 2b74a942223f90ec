"""Reads of invoicing: its settings, and a contract's services as the billing rules take
them (docs/billing-rules.md)."""

from django.db.models import QuerySet

from icb.contracts.models import Contract, Service, ServiceUnitChange, UnitChangeSource
from icb.hub.models import Module
from icb.tenancy.models import Company

from .rules import BillingTerms, ServiceTimeline

CREATED = UnitChangeSource.CREATED


def billing_modules(*, company: Company) -> QuerySet[Module]:
    """The company's current modules, whose revenue account codes the settings page sets."""
    return Module.objects.for_company(company).filter(removed_at=None).order_by("name", "id")


def service_timeline(*, service: Service, company: Company) -> ServiceTimeline:
    """A service as the billing rules take it: its price, active dates and unit changes
    [(effective date, units)] in the order recorded (docs/billing-rules.md). The units
    it was created with hold from its start date, even when it was added later."""
    rows = (
        ServiceUnitChange.objects.for_company(company)
        .filter(service=service)
        .order_by("changed_at", "id")
        .values_list("source", "effective_date", "new_units")
    )
    created = [(service.start_date, units) for source, _, units in rows if source == CREATED]
    # A change effective before the service started counts from its start (after the
    # creation units, so it wins on that day).
    later = [
        (max(day, service.start_date), units) for source, day, units in rows if source != CREATED
    ]
    return ServiceTimeline(
        service_id=service.pk,
        name=service.name,
        unit_price=service.unit_price,
        start_date=service.start_date,
        end_date=service.end_date,
        changes=created + later,
    )


def billing_terms(*, contract: Contract, company: Company) -> BillingTerms:
    """The contract's billing settings in effect, as the billing rules take them."""
    in_effect = contract.billing_in_effect(company)
    return BillingTerms(
        frequency=contract.billing_frequency,
        timing=in_effect["billing_timing"],
        proration=in_effect["proration"],
        contract_start=contract.start_date,
        contract_end=contract.end_date,
        currency=contract.currency,
        tax_rate=contract.account.tax_rate_in_effect(company),
    )
