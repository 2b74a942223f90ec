"""Reads of Billing review: the held changes as the page and the API list them (sorted
by monthly impact in money, with totals), one held change, the pending counts, the
policy as JSON, its recorded changes, a service's units over time."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.db.models import F, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from icb.billing_sync.models import (
    HeldChange,
    HeldStatus,
    PreviewStatus,
    ReviewPolicy,
    ReviewPolicyChange,
    SyncPreview,
)
from icb.billing_sync.policy import DEFAULT_RULES, Rules
from icb.billing_sync.preview import Decision
from icb.common.errors import NotFound
from icb.common.money import to_cents
from icb.contracts.models import Service, ServiceUnitChange
from icb.contracts.selectors import service_get, valid_id
from icb.crm.models import Account
from icb.crm.selectors import account_get
from icb.tenancy.models import Company

from .filters import HeldFilter

STRIP_POINTS = 12  # units-over-time strip: the last changes of a service


@dataclass
class HeldList:
    """The held changes matching a filter, sorted (largest monthly impact first, within
    the group when grouped), as light rows; totals over all of them."""

    rows: list[tuple[int, Decimal, str, str]]  # (id, monthly impact, currency, group)
    increases: dict[str, Decimal] = field(default_factory=dict)  # by currency
    decreases: dict[str, Decimal] = field(default_factory=dict)

    @property
    def ids(self) -> list[int]:
        return [row[0] for row in self.rows]

    @property
    def count(self) -> int:
        return len(self.rows)

    @property
    def impact(self) -> dict[str, Decimal]:
        """The net monthly impact by currency."""
        net: dict[str, Decimal] = defaultdict(Decimal)
        for _, impact, currency, _ in self.rows:
            net[currency] += impact
        return dict(net)


GROUPS = {"account": "service__contract__account__name", "module": "service__icb_module__name"}


def held_list(*, company: Company, filters: HeldFilter, group: str = "") -> HeldList:
    """Every held change of the filter, as (id, monthly impact, currency, group) with
    Decimal arithmetic in Python (the database would use floats on SQLite), sorted."""
    held = HeldChange.objects.for_company(company).filter(status=filters.status)
    if filters.module:
        held = held.filter(service__icb_module__code=filters.module)
    if filters.account_id:
        held = held.filter(service__contract__account_id=filters.account_id)
    if filters.service_id:
        held = held.filter(service_id=filters.service_id)
    if filters.rule:
        held = held.filter(rule=filters.rule)
    group_field = GROUPS.get(group)
    result = HeldList(rows=[])
    for pk, current, proposed, price, currency, group_name in held.values_list(
        "pk",
        "current_units",
        "proposed_units",
        "service__unit_price",
        "service__contract__currency",
        group_field or "service__contract__currency",
    ):
        delta = proposed - current
        if filters.direction == "up" and delta <= 0 or filters.direction == "down" and delta >= 0:
            continue
        impact = to_cents(delta * price)
        if filters.min_impact is not None and abs(impact) < filters.min_impact:
            continue
        totals = result.increases if impact > 0 else result.decreases
        totals[currency] = totals.get(currency, Decimal("0.00")) + impact
        result.rows.append((pk, impact, currency, str(group_name or "") if group_field else ""))
    result.rows.sort(key=lambda row: (row[3].casefold(), -abs(row[1]), row[0]))
    return result


def held_rows(*, company: Company, ids: list[int]) -> list[HeldChange]:
    """The held changes of `ids` (a page of a HeldList), in that order, with what their
    rows show: the service, its contract and account, the module, who decided."""
    by_id = {
        h.pk: h
        for h in HeldChange.objects.for_company(company)
        .filter(pk__in=ids)
        .select_related(
            "service__contract__account", "service__icb_module", "service__icb_billing_type"
        )
        .select_related("decided_by")
    }
    return [by_id[i] for i in ids if i in by_id]


def held_get(*, company: Company, held_id) -> HeldChange:
    pk = valid_id(held_id)
    held = (
        HeldChange.objects.for_company(company)
        .filter(pk=pk)
        .select_related("service__contract", "decided_by")
        .first()
        if pk
        else None
    )
    if held is None:
        raise NotFound("No such held change.")
    return held


def pending_count(*, company: Company) -> int:
    return HeldChange.objects.for_company(company).filter(status=HeldStatus.PENDING).count()


def pending_for_services(
    *, company: Company | int, service_ids: list[int]
) -> dict[int, HeldChange]:
    """The pending held change of each of `service_ids` that has one (one query)."""
    return {
        h.service_id: h
        for h in HeldChange.objects.for_company(company).filter(
            service_id__in=service_ids, status=HeldStatus.PENDING
        )
    }


def run_held(*, company: Company | int, run_id: int) -> list[HeldChange]:
    """The changes a run held, with what became of them."""
    return list(
        HeldChange.objects.for_company(company)
        .filter(sync_run_id=run_id)
        .select_related("service__contract", "decided_by")
        .order_by("id")
    )


def units_strips(*, company: Company, service_ids: list[int]) -> dict[int, list[Decimal]]:
    """Each service's units over its last STRIP_POINTS changes, oldest first (one
    query for a page of rows)."""
    latest = Window(
        RowNumber(),
        partition_by=[F("service_id")],
        order_by=[F("changed_at").desc(), F("id").desc()],
    )
    strips: dict[int, list[Decimal]] = defaultdict(list)
    for service_id, units, _ in (
        ServiceUnitChange.objects.for_company(company)
        .filter(service_id__in=service_ids)
        .annotate(n=latest)
        .filter(n__lte=STRIP_POINTS)
        .order_by("service_id", "-n")
        .values_list("service_id", "new_units", "n")
    ):
        strips[service_id].append(units)
    return dict(strips)


# --- the policy ----------------------------------------------------------------------


def policy_of(company: Company) -> dict:
    """The company's review policy as the API answers it: its rules (the default when
    never changed) and `modules`, the overrides by module code."""
    rules: Rules = DEFAULT_RULES
    modules = {}
    for policy in ReviewPolicy.objects.for_company(company).select_related("module"):
        if policy.module is None:
            rules = Rules.of(policy)
        else:
            modules[policy.module.code] = Rules.of(policy).as_json()
    return {**rules.as_json(), "modules": dict(sorted(modules.items()))}


def policy_changes(*, company: Company, limit: int = 20) -> list[ReviewPolicyChange]:
    return list(ReviewPolicyChange.objects.for_company(company).select_related("user")[:limit])


def filter_choices(*, company: Company) -> dict:
    """What the page's filters offer as lists: the modules with pending held changes (a
    few). Accounts are searched as you type (`account_options`): after a hub fault every
    account may have one."""
    pending = HeldChange.objects.for_company(company).filter(status=HeldStatus.PENDING)
    return {
        "modules": list(
            pending.filter(service__icb_module__isnull=False)
            .values_list("service__icb_module__code", "service__icb_module__name")
            .distinct()
            .order_by("service__icb_module__name")
        ),
    }


def account_options(*, company: Company, q: str = "") -> QuerySet[Account]:
    """The accounts with a held change (of any status, as the page's status filter
    may ask for any), whose name or code contains `q`, in name order: what the page's
    account box searches. Meant to be paginated by the caller."""
    held = HeldChange.objects.for_company(company).values("service__contract__account_id")
    accounts = Account.objects.for_company(company).filter(id__in=held)
    q = str(q or "").strip()[:200]
    if q:
        accounts = accounts.filter(Q(name__icontains=q) | Q(code__icontains=q))
    return accounts.order_by("name", "id")


@dataclass
class PreviewScope:
    """What a preview covers: its name on the page, and its services."""

    label: str
    services: QuerySet[Service]


def preview_scope(
    *, company: Company, service_id: int | None = None, account_id: int | None = None
) -> PreviewScope:
    """The services a preview covers: one service, an account's, or (neither) the
    company's. A service or account of another company is a 404."""
    services = Service.objects.for_company(company)
    if service_id is not None:
        service = service_get(company=company, service_id=service_id)
        return PreviewScope(f"the service {service.name}", services.filter(pk=service.pk))
    if account_id is not None:
        account = account_get(company=company, account_id=account_id)
        return PreviewScope(
            f"the account {account.name}", services.filter(contract__account=account)
        )
    return PreviewScope(company.name, services)


def preview_counts(rows: list[dict]) -> dict[str, int]:
    """A preview's services by decision, every decision named (zero included)."""
    counts = dict.fromkeys(Decision.ALL, 0)
    for row in rows:
        counts[row["decision"]] += 1
    return counts


# A running preview stores its progress after each batch of services (seconds apart,
# a minute or two with a slow hub): one silent for this long lost its worker.
PREVIEW_STALLED = timedelta(minutes=10)
PREVIEW_STALLED_ERROR = "The preview stopped: its worker did not finish. Start it again."


def sync_preview_get(*, company: Company, preview_id) -> SyncPreview:
    """The company's preview, a running one silent for PREVIEW_STALLED shown as failed
    (the page stops reloading, the API answers `failed`); nothing is written."""
    found = SyncPreview.objects.for_company(company).filter(pk=valid_id(preview_id) or 0).first()
    if found is None:
        raise NotFound("No such sync preview.")
    stalled = found.updated_at < timezone.now() - PREVIEW_STALLED
    if found.status == PreviewStatus.RUNNING and stalled:
        found.status, found.error = PreviewStatus.FAILED, PREVIEW_STALLED_ERROR
    return found


def sync_preview_rows(
    preview: SyncPreview, *, decision: str = "", sort: str = "impact"
) -> list[dict]:
    """A company-wide preview's rows: those of one decision (any when empty), by monthly
    impact (largest first, up or down; as stored) or by service name."""
    rows = [row for row in preview.rows if not decision or row["decision"] == decision]
    if sort == "service":
        rows.sort(key=lambda row: (row["service"].lower(), row["service_id"]))
    return rows
