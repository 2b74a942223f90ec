"""Reads of contracts and services, always scoped to one company. Pages and API both
use these, so a list or a lookup means the same thing everywhere."""

from collections import defaultdict
from decimal import Decimal

from django.db.models import Q, QuerySet

from icb.common.errors import NotFound
from icb.common.money import line_amount, to_cents
from icb.common.validation import MAX_ID
from icb.crm.models import Account
from icb.tenancy.models import BillingTiming, Company, Proration

from .models import Contract, ContractStatus, Service, ServiceUnitChange, UnitChangeSource


def valid_id(value) -> int | None:
    """An id as the database can hold it, or None (so a huge or negative id is a 404,
    never an overflow)."""
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if 0 < number <= MAX_ID else None


def _clean_search(text) -> str:
    return str(text or "").replace("\x00", "").strip()[:200]


def contract_list(
    *, company: Company, q: str = "", account_id=None, status: str | None = None
) -> QuerySet[Contract]:
    """Contracts of the company with their account, filtered by a search on account name
    or code (or the contract's name), an account and a status. An unknown account or
    status simply matches nothing. Nothing is counted or summed per contract here: that
    would be done for every contract before the page is cut; `attach_totals` does it for
    a page's contracts."""
    contracts = (
        Contract.objects.for_company(company)
        .select_related("account")
        .order_by("account__name", "name", "id")
    )
    q = _clean_search(q)
    if q:
        contracts = contracts.filter(
            Q(account__name__icontains=q) | Q(account__code__icontains=q) | Q(name__icontains=q)
        )
    if account_id not in (None, ""):
        contracts = contracts.filter(account_id=valid_id(account_id) or 0)
    if status:
        contracts = contracts.filter(status=status if status in ContractStatus.values else "")
    return contracts


def attach_totals(contracts: list[Contract]) -> list[Contract]:
    """Set `total_amount` (sum of each line's units × price, rounded per line as on an
    invoice) and `service_count` on each contract, with one query for the whole list
    (a page's contracts, once the page is cut). Done in Python rather than SQL so that
    the sum is exact decimal arithmetic on every database."""
    totals: dict[int, Decimal] = defaultdict(lambda: Decimal("0.00"))
    counts: dict[int, int] = defaultdict(int)
    rows = Service.objects.filter(contract__in=[c.pk for c in contracts]).values_list(
        "contract_id", "units", "unit_price"
    )
    for contract_id, units, unit_price in rows:
        totals[contract_id] += line_amount(units, unit_price)
        counts[contract_id] += 1
    for contract in contracts:
        contract.total_amount = to_cents(totals[contract.pk])
        contract.service_count = counts[contract.pk]
    return contracts


def contract_get(*, company: Company, contract_id) -> Contract:
    pk = valid_id(contract_id)
    contract = (
        Contract.objects.for_company(company).filter(pk=pk).select_related("account").first()
        if pk
        else None
    )
    if contract is None:
        raise NotFound("Unknown contract.")
    return contract


def service_list(*, contract: Contract) -> QuerySet[Service]:
    return (
        Service.objects.for_company(contract.company_id)
        .filter(contract=contract)
        .order_by("name", "id")
    )


def services_total(services) -> Decimal:
    return to_cents(sum((s.amount for s in services), Decimal("0.00")))


def service_get(*, company: Company, service_id, contract_id=None) -> Service:
    """A service of the company (and of that contract, when given), or NotFound."""
    pk = valid_id(service_id)
    if pk is None:
        raise NotFound("Unknown service.")
    services = (
        Service.objects.for_company(company).filter(pk=pk).select_related("contract__account")
    )
    if contract_id is not None:
        services = services.filter(contract_id=valid_id(contract_id) or 0)
    service = services.first()
    if service is None:
        raise NotFound("Unknown service.")
    return service


def service_history(*, service: Service) -> QuerySet[ServiceUnitChange]:
    return (
        ServiceUnitChange.objects.for_company(service.company_id)
        .filter(service=service)
        .select_related("user")
        .order_by("-changed_at", "-id")
    )


def account_choices(*, company: Company, include_id: int | None = None) -> QuerySet[Account]:
    """The accounts a contract form may take: the active ones, plus the one already
    chosen (even if inactive). The form's account field validates against these; the
    page never lists them (its box searches account_options through the API)."""
    condition = Q(is_active=True)
    if include_id:
        condition |= Q(pk=include_id)
    return Account.objects.for_company(company).filter(condition).order_by("name", "id")


def account_options(*, company: Company, q: str = "") -> QuerySet[Account]:
    """The active accounts a contract may be given, whose name or code contains `q` (any
    case), in name order: what the contract form's account box searches. Meant to be
    paginated by the caller."""
    accounts = Account.objects.for_company(company).filter(is_active=True)
    q = _clean_search(q)
    if q:
        accounts = accounts.filter(Q(name__icontains=q) | Q(code__icontains=q))
    return accounts.order_by("name", "id")


def has_account_options(*, company: Company) -> bool:
    return Account.objects.for_company(company).filter(is_active=True).exists()


def account_contracts(*, account: Account) -> QuerySet[Contract]:
    """The account's contracts, for the read-only list on the CRM account page."""
    return (
        Contract.objects.for_company(account.company_id)
        .filter(account=account)
        .order_by("name", "id")
    )


def has_unit_history(service: Service) -> bool:
    """Whether the service's units changed after it was created: its history then
    explains figures that must outlive it, so it is ended, never deleted."""
    return service.unit_changes.exclude(source=UnitChangeSource.CREATED).exists()


def billing_summary(*, contract: Contract, company: Company) -> list[tuple[str, str]]:
    """The contract's billing settings in effect, as the contract page shows them: each
    says when it is the company's default."""
    in_effect = contract.billing_in_effect(company)
    shown = {
        "billing_timing": BillingTiming(in_effect["billing_timing"]).label,
        "proration": Proration(in_effect["proration"]).label,
        "payment_terms_days": f"{in_effect['payment_terms_days']} days",
    }
    labels = {
        "billing_timing": "Billing timing",
        "proration": "Proration",
        "payment_terms_days": "Payment terms",
    }
    return [
        (
            labels[name],
            text + (" (company default)" if getattr(contract, name) is None else ""),
        )
        for name, text in shown.items()
    ]
