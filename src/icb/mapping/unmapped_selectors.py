"""Reading the unmapped usage: the organizations with usage that belong to no account
(checked against the mappings now, so one mapped since drops out at once), their
quantities and the monthly revenue they represent at the company's usual price, the
accounts whose mapping is incomplete, and the scan's progress."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef

from icb.common.money import to_cents
from icb.contracts.models import BillingMode, ContractStatus, Service
from icb.hub.models import Module, Organization
from icb.tenancy.models import Company

from .models import Mapping, MappingSuggestion, UnmappedScan, UnmappedUsage


@dataclass
class Quantity:
    billing_type: str  # its code
    name: str
    unit: str
    quantity: Decimal
    unit_price: Decimal | None  # the usual price; None when nothing is billed by it

    @property
    def text(self) -> str:
        """The quantity as the hub writes it: "12", "1180.42"."""
        text = format(self.quantity, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text


@dataclass
class Suggested:
    account_id: int
    account_name: str
    confidence: Decimal
    reason: str


@dataclass
class UnmappedOrganization:
    module: str  # its code
    module_name: str
    organization_id: str  # the hub's id
    name: str
    parent_name: str | None
    new: bool
    appeared_at: datetime | None
    quantities: list[Quantity] = field(default_factory=list)
    suggestion: Suggested | None = None

    @property
    def estimated_monthly_revenue(self) -> Decimal:
        """Σ quantity × the usual unit price, over the billing types with a price."""
        return to_cents(
            sum(
                (q.quantity * q.unit_price for q in self.quantities if q.unit_price is not None),
                Decimal(0),
            )
        )

    @property
    def priced(self) -> bool:
        return any(q.unit_price is not None for q in self.quantities)

    @property
    def priced_quantities(self) -> list[Quantity]:
        return [q for q in self.quantities if q.unit_price is not None]

    @property
    def unpriced_quantities(self) -> list[Quantity]:
        return [q for q in self.quantities if q.unit_price is None]


def usual_prices(*, company: Company) -> dict[tuple[int, int], Decimal]:
    """{(module id, billing type id): the median unit price} of the company's ICB
    services on contracts that are not ended."""
    prices: dict[tuple[int, int], list[Decimal]] = {}
    rows = (
        Service.objects.for_company(company)
        .filter(
            billing_mode=BillingMode.ICB,
            icb_module__isnull=False,
            icb_billing_type__isnull=False,
        )
        .exclude(contract__status=ContractStatus.ENDED)
        .values_list("icb_module_id", "icb_billing_type_id", "unit_price")
    )
    for module_id, type_id, price in rows.iterator(chunk_size=5000):
        prices.setdefault((module_id, type_id), []).append(price)
    return {key: Decimal(statistics.median(values)) for key, values in prices.items()}


def _still_unmapped(company: Company):
    return UnmappedUsage.objects.for_company(company).filter(
        organization__mapping__isnull=True, organization__removed_at__isnull=True
    )


def unmapped_organizations(
    *, company: Company, module: str | None = None, new_only: bool = False
) -> list[UnmappedOrganization]:
    """Every organization with unmapped usage, the most revenue first (those without a
    usual price last, by name), each with its suggestion if there is one."""
    rows = _still_unmapped(company)
    if module:
        rows = rows.filter(module__code=module)
    prices = usual_prices(company=company)
    refreshed = dict(
        Module.objects.for_company(company).values_list("pk", "organizations_refreshed_at")
    )
    found: dict[int, UnmappedOrganization] = {}
    for row in rows.select_related("module", "organization", "billing_type").order_by(
        "organization_id", "billing_type__name"
    ):
        org = row.organization
        item = found.get(org.pk)
        if item is None:
            latest = refreshed.get(row.module_id)
            item = found[org.pk] = UnmappedOrganization(
                module=row.module.code,
                module_name=row.module.name,
                organization_id=org.external_id,
                name=org.name,
                parent_name=None,
                new=org.appeared_at is not None
                and latest is not None
                and org.appeared_at >= latest,
                appeared_at=org.appeared_at,
            )
            item.parent_name = org.parent_external_id or None  # named below
        bt = row.billing_type
        item.quantities.append(
            Quantity(bt.code, bt.name, bt.unit, row.quantity, prices.get((row.module_id, bt.pk)))
        )
    items = [i for i in found.values() if i.new or not new_only]
    _name_parents(company, items)
    _attach_suggestions(company, found)
    items.sort(key=lambda i: (-i.estimated_monthly_revenue, i.name.casefold(), i.organization_id))
    return items


def _name_parents(company: Company, items: list[UnmappedOrganization]) -> None:
    wanted = {(i.module, i.parent_name) for i in items if i.parent_name}
    if not wanted:
        return
    names = {
        (code, ext_id): name
        for code, ext_id, name in Organization.objects.for_company(company)
        .filter(external_id__in={ext for _, ext in wanted})
        .values_list("module__code", "external_id", "name")
    }
    for item in items:
        if item.parent_name:
            item.parent_name = names.get((item.module, item.parent_name), item.parent_name)


def _attach_suggestions(company: Company, found: dict[int, UnmappedOrganization]) -> None:
    rows = (
        MappingSuggestion.objects.for_company(company)
        .filter(organization_id__in=list(found))
        .values_list("organization_id", "account_id", "account__name", "confidence", "reason")
    )
    for org_id, account_id, account_name, confidence, reason in rows:
        found[org_id].suggestion = Suggested(account_id, account_name, confidence, reason)


def unmapped_count(*, company: Company) -> int:
    """How many organizations have unmapped usage (the menu's badge)."""
    return _still_unmapped(company).values("organization_id").distinct().count()


def new_unmapped_organizations(*, company: Company, since: datetime) -> list[UnmappedOrganization]:
    """The organizations with unmapped usage that a directory refresh found after
    `since` (for a digest of what is new)."""
    return [
        item
        for item in unmapped_organizations(company=company)
        if item.appeared_at is not None and item.appeared_at > since
    ]


@dataclass
class IncompleteMapping:
    account_id: int
    account_name: str
    module: str
    module_name: str
    services: int


def incomplete_mappings(*, company: Company) -> list[IncompleteMapping]:
    """Accounts with ICB services in a module where no organization is mapped to them
    (those services cannot sync), by account name."""
    mapped = Mapping.objects.filter(
        account_id=OuterRef("contract__account_id"), module_id=OuterRef("icb_module_id")
    )
    rows = (
        Service.objects.for_company(company)
        .filter(billing_mode=BillingMode.ICB, icb_module__isnull=False)
        .exclude(Exists(mapped))
        .values(
            "contract__account_id",
            "contract__account__name",
            "icb_module__code",
            "icb_module__name",
        )
        .annotate(services=Count("id"))
        .order_by("contract__account__name", "icb_module__name")
    )
    return [
        IncompleteMapping(
            account_id=r["contract__account_id"],
            account_name=r["contract__account__name"],
            module=r["icb_module__code"],
            module_name=r["icb_module__name"],
            services=r["services"],
        )
        for r in rows
    ]


def scan_of(*, company: Company) -> UnmappedScan | None:
    return UnmappedScan.objects.for_company(company).first()
