"""Reading the unmapped usage: the organizations with usage that belong to no account
(checked against the mappings now, so one mapped since drops out at once), their
quantities and the monthly revenue they represent at the company's usual price, the
accounts whose mapping is incomplete, and the scan's progress."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import (
    Case,
    DecimalField,
    Exists,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    Sum,
    Value,
    When,
)

from icb.common.money import to_cents
from icb.common.pagination import Page, paginate
from icb.hub.models import Organization
from icb.tenancy.models import Company

from .models import (
    IncompleteMapping,
    Mapping,
    MappingSuggestion,
    UnmappedScan,
    UnmappedUsage,
    UsualPrice,
)


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
    """{(module id, billing type id): the usual unit price}, as the last read of the
    usage stored them (unmapped.scan_figures: the median of the ICB services then)."""
    return {
        (module_id, type_id): price
        for module_id, type_id, price in UsualPrice.objects.for_company(company).values_list(
            "module_id", "billing_type_id", "unit_price"
        )
    }


def _still_unmapped(company: Company, module: str | None = None):
    rows = UnmappedUsage.objects.for_company(company).filter(
        organization__mapping__isnull=True, organization__removed_at__isnull=True
    )
    return rows.filter(module__code=module) if module else rows


# First listed by the latest directory refresh of its module.
NEW = Q(organization__appeared_at__isnull=False) & Q(
    organization__appeared_at__gte=F("module__organizations_refreshed_at")
)


def _priced(prices: dict[tuple[int, int], Decimal]) -> Q:
    """The snapshot rows whose module and billing type have a usual price."""
    condition = Q(pk__in=[])
    for module_id, type_id in prices:
        condition |= Q(module_id=module_id, billing_type_id=type_id)
    return condition


@dataclass
class UnmappedSummary:
    count: int
    new: int
    unpriced: int  # organizations none of whose billing types has a usual price
    revenue: Decimal  # Σ estimated monthly revenue
    priced_at: datetime | None  # when the usual prices were computed (with the usage)


def unmapped_summary(*, company: Company, module: str | None = None) -> UnmappedSummary:
    """The totals of the list, in six queries whatever its size. The revenue is summed
    in Python, in Decimal, from the quantities per module and billing type."""
    rows = _still_unmapped(company, module)
    prices = usual_prices(company=company)
    priced_at = UsualPrice.objects.for_company(company).aggregate(at=Max("computed_at"))["at"]
    orgs = rows.values("organization_id").distinct()
    count = orgs.count()
    priced = rows.filter(_priced(prices)) if prices else rows.none()
    revenue = sum(
        (
            quantity * prices[(module_id, type_id)]
            for module_id, type_id, quantity in priced.values("module_id", "billing_type_id")
            .annotate(quantity=Sum("quantity"))
            .values_list("module_id", "billing_type_id", "quantity")
        ),
        Decimal(0),
    )
    return UnmappedSummary(
        count=count,
        new=rows.filter(NEW).values("organization_id").distinct().count(),
        unpriced=count - priced.values("organization_id").distinct().count(),
        revenue=to_cents(revenue),
        priced_at=priced_at,
    )


def _ordered(company: Company, module: str | None, new_only: bool, prices: dict):
    """The ids of the organizations with unmapped usage, the most revenue first (those
    without a usual price last, by name). The revenue here only sorts: the amounts shown
    are computed in Decimal (UnmappedOrganization)."""
    rows = _still_unmapped(company, module)
    if new_only:
        rows = rows.filter(NEW)
    price = Case(
        *[When(module_id=m, billing_type_id=b, then=Value(p)) for (m, b), p in prices.items()],
        default=Value(None),
        output_field=DecimalField(max_digits=12, decimal_places=2),
    )
    return (
        rows.values("organization_id")
        .annotate(revenue=Sum(F("quantity") * price), name=Min("organization__name"))
        .order_by(F("revenue").desc(nulls_last=True), "name", "organization_id")
        .values_list("organization_id", flat=True)
    )


def unmapped_page(
    *,
    company: Company,
    module: str | None = None,
    new_only: bool = False,
    page: int | str | None = 1,
    page_size: int = 50,
) -> Page:
    """A page of the organizations with unmapped usage (UnmappedOrganization), the most
    revenue first, each with its quantities and its suggestion. The order and the page
    come from the database, so the work is the page's, not the list's."""
    prices = usual_prices(company=company)
    result = paginate(_ordered(company, module, new_only, prices), page, page_size)
    items = organizations_by_id(company=company, ids=list(result.items), prices=prices)
    result.items = [items[pk] for pk in result.items if pk in items]
    return result


def unmapped_organizations(
    *, company: Company, module: str | None = None, new_only: bool = False
) -> list[UnmappedOrganization]:
    """Every organization with unmapped usage, in the page's order (pages read
    unmapped_page: this one does the work of the whole list)."""
    prices = usual_prices(company=company)
    ids = list(_ordered(company, module, new_only, prices))
    items = organizations_by_id(company=company, ids=ids, prices=prices)
    return [items[pk] for pk in ids if pk in items]


def organizations_by_id(
    *, company: Company, ids: list[int], prices: dict | None = None
) -> dict[int, UnmappedOrganization]:
    """These organizations (database ids) as the list shows them."""
    prices = usual_prices(company=company) if prices is None else prices
    found: dict[int, UnmappedOrganization] = {}
    rows = (
        _still_unmapped(company)
        .filter(organization_id__in=ids)
        .select_related("module", "organization", "billing_type")
        .order_by("organization_id", "billing_type__name")
    )
    for row in rows:
        org = row.organization
        item = found.get(org.pk)
        if item is None:
            latest = row.module.organizations_refreshed_at
            item = found[org.pk] = UnmappedOrganization(
                module=row.module.code,
                module_name=row.module.name,
                organization_id=org.external_id,
                name=org.name,
                parent_name=org.parent_external_id or None,  # named below
                new=org.appeared_at is not None
                and latest is not None
                and org.appeared_at >= latest,
                appeared_at=org.appeared_at,
            )
        bt = row.billing_type
        item.quantities.append(
            Quantity(bt.code, bt.name, bt.unit, row.quantity, prices.get((row.module_id, bt.pk)))
        )
    _name_parents(company, list(found.values()))
    _attach_suggestions(company, found)
    return found


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
    `since` (for a digest of what is new), the most revenue first."""
    ids = set(
        _still_unmapped(company)
        .filter(organization__appeared_at__gt=since)
        .values_list("organization_id", flat=True)
    )
    items = list(organizations_by_id(company=company, ids=list(ids)).values())
    items.sort(key=lambda i: (-i.estimated_monthly_revenue, i.name.casefold(), i.organization_id))
    return items


INCOMPLETE_SHOWN = 50


@dataclass
class IncompleteMappings:
    rows: list[IncompleteMapping]  # the first INCOMPLETE_SHOWN, by account name
    count: int  # all of them


def incomplete_mappings(*, company: Company, limit: int = INCOMPLETE_SHOWN) -> IncompleteMappings:
    """Accounts with ICB services in a module where no organization is mapped to them
    (those services cannot sync), by account name: as the last read of the usage found
    them (unmapped.scan_figures), less those mapped since."""
    mapped = Mapping.objects.for_company(company).filter(
        account_id=OuterRef("account_id"), module_id=OuterRef("module_id")
    )
    rows = IncompleteMapping.objects.for_company(company).exclude(Exists(mapped))
    shown = list(
        rows.select_related("account", "module").order_by("account__name", "module__name", "pk")[
            :limit
        ]
    )
    return IncompleteMappings(rows=shown, count=len(shown) if len(shown) < limit else rows.count())


def scan_of(*, company: Company) -> UnmappedScan | None:
    return UnmappedScan.objects.for_company(company).first()
