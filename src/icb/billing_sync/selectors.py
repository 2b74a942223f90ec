"""Reads of Integrated Customer Billing that the pages and the API share: the live
mapping state of a service, the sync runs and their services."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

from django.db.models import OuterRef, Q, QuerySet, Subquery

from icb.common.errors import NotFound
from icb.common.money import to_cents
from icb.contracts.models import Service, ServiceUnitChange, SyncStatus, UnitChangeSource
from icb.contracts.selectors import valid_id
from icb.hub.models import Module, Organization
from icb.mapping.models import Mapping
from icb.tenancy.models import Company

from .compute import MAPPING_INCOMPLETE_MESSAGE
from .models import HeldChange, HeldStatus, ItemStatus, SyncRun


def mapped_module_ids(*, company: Company | int, account_id: int) -> set[int]:
    """Modules in which the account has at least one organization mapped (live)."""
    return set(
        Mapping.objects.for_company(company)
        .filter(account_id=account_id)
        .values_list("module_id", flat=True)
        .distinct()
    )


def icb_display(service: Service, mapped_modules: set[int] | None = None) -> dict | None:
    """What the pages show about a service's ICB state: "Mapping Settings Incomplete"
    as soon as (and as long as) the account has no organization mapped in the module,
    whatever the last sync said."""
    if not service.is_icb:
        return None
    if mapped_modules is None:
        mapped_modules = mapped_module_ids(
            company=service.company_id, account_id=service.contract.account_id
        )
    incomplete = service.icb_module_id not in mapped_modules
    state: str
    if incomplete:
        state, message = SyncStatus.MAPPING_INCOMPLETE, MAPPING_INCOMPLETE_MESSAGE
    else:
        state = service.icb_status
        if state == SyncStatus.MAPPING_INCOMPLETE:
            state = SyncStatus.NEVER if service.last_sync_at is None else SyncStatus.OK
        message = service.icb_message if state == SyncStatus.ERROR else ""
    return {
        "state": state,
        "message": message,
        "mapped": not incomplete,
        "last_sync_at": service.last_sync_at,
        "next_sync_at": service.next_sync_at,
    }


def sync_result(service: Service) -> tuple[str, str]:
    """What a page says after a manual sync of the service: a message level (success,
    warning, error, info) and the sentence."""
    display = icb_display(service) or {"state": "", "message": ""}
    if display["state"] == SyncStatus.OK:
        held = pending_held_change(service)
        if held is not None:
            return "warning", (
                f"Synced: the change {held.current_units} → {held.proposed_units} is held "
                f"for review ({held.rule_words}); the units stay {service.units}."
            )
        return "success", f"Synced: {service.units} units."
    if display["state"] == SyncStatus.MAPPING_INCOMPLETE:
        return "warning", "Mapping Settings Incomplete: nothing to sync yet."
    if display["state"] == SyncStatus.ERROR:
        message = display["message"]
        kept = "" if "units were kept" in message.lower() else " Units were kept."
        return "error", f"The sync failed: {message}{kept}"
    return "info", "Not synced yet."


def pending_held_change(service: Service) -> HeldChange | None:
    """The service's held change waiting for a person, if any (at most one)."""
    return (
        HeldChange.objects.for_company(service.company_id)
        .filter(service_id=service.pk, status=HeldStatus.PENDING)
        .first()
    )


def run_list(*, company: Company) -> QuerySet[SyncRun]:
    return (
        SyncRun.objects.for_company(company).select_related("user").order_by("-started_at", "-id")
    )


def run_get(*, company: Company, run_id) -> SyncRun:
    pk = valid_id(run_id)
    run = (
        SyncRun.objects.for_company(company).filter(pk=pk).select_related("user").first()
        if pk
        else None
    )
    if run is None:
        raise NotFound("Unknown sync run.")
    return run


@dataclass(frozen=True)
class RunService:
    """One line of a run's services: a unit change or a run item, alike for pages and
    the API."""

    service: Service
    status: str
    old_units: Decimal | None
    new_units: Decimal | None
    message: str
    breakdown: SyncBreakdown | None = None  # a change: the quantities behind new_units

    @property
    def service_id(self) -> int:
        return self.service.pk

    @property
    def status_display(self) -> str:
        return ItemStatus(self.status).label


class RunServices:
    """A run's services, changes first then items, each part in id order; sliceable and
    countable, so it paginates like a queryset (two queries per page, and two for the
    breakdowns of its changes: see sync_breakdowns)."""

    def __init__(self, run: SyncRun, status: str = ""):
        self.company_id = run.company_id
        self.changes = (
            ServiceUnitChange.objects.for_company(run.company_id)
            .filter(sync_run_id=run.pk)
            .select_related("service__contract__account")
            .order_by("id")
        )
        self.items = run.items.select_related("service__contract__account").order_by("id")
        if status == ItemStatus.CHANGED:
            self.items = self.items.none()
        elif status:
            self.changes = self.changes.none()
            self.items = self.items.filter(status=status)
        self._changes_count: int | None = None

    def _count_changes(self) -> int:
        if self._changes_count is None:
            self._changes_count = self.changes.count()
        return self._changes_count

    def count(self) -> int:
        return self._count_changes() + self.items.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, window: slice) -> list[RunService]:
        start, stop = window.start or 0, window.stop
        changes = self._count_changes()
        changed = list(self.changes[start : min(stop, changes)]) if start < changes else []
        breakdowns = sync_breakdowns(company=self.company_id, changes=changed)
        rows = [
            RunService(
                c.service, ItemStatus.CHANGED, c.old_units, c.new_units, "", breakdowns.get(c.pk)
            )
            for c in changed
        ]
        if stop > changes:
            rows += [
                RunService(i.service, i.status, i.old_units, i.new_units, i.message)
                for i in self.items[max(start - changes, 0) : stop - changes]
            ]
        return rows


def run_items(run: SyncRun, *, status: str = "") -> RunServices:
    """The services listed on a run, optionally of one result (an unknown result lists
    nothing rather than failing)."""
    return RunServices(run, status)


# --- the quantities behind a synced number -------------------------------------------

# Organization ids per directory query: a page names few, a huge account many.
_IDS_PER_QUERY = 1000


@dataclass(frozen=True)
class BreakdownLine:
    """One organization's part of a synced number, as the sync's history row recorded
    it, named from the stored directory as it is now."""

    organization_id: str
    name: str | None  # None: no longer in the directory
    parent_id: str | None
    parent_name: str | None  # None: no parent, or a parent no longer in the directory
    removed: bool  # still in the directory, but gone from the hub at its last refresh
    quantity: Decimal
    measured_at: datetime | None

    @property
    def in_directory(self) -> bool:
        return self.name is not None

    @property
    def quantity_shown(self) -> str:
        """The quantity as the hub reported it, with at least two places (like units)."""
        places = max(2, -int(self.quantity.as_tuple().exponent))
        return f"{self.quantity:.{places}f}"


@dataclass(frozen=True)
class SyncBreakdown:
    """Why a sync set a service's units: each mapped organization's own quantity of the
    billing type, and their sum (rounded to the cent as the sync rounds it)."""

    change_id: int
    run_id: int | None
    module: str
    module_name: str | None  # None: the module is no longer in the catalogue
    billing_type: str
    billing_type_name: str | None
    unit: str
    organizations: list[BreakdownLine]
    exact_total: Decimal
    units: Decimal  # the new units of the history row

    @property
    def total(self) -> Decimal:
        return to_cents(self.exact_total)

    @property
    def rounded(self) -> bool:
        """The quantities sum to more places than units hold."""
        return self.total != self.exact_total

    @property
    def matches(self) -> bool:
        return self.total == self.units


@dataclass(frozen=True)
class _Detail:
    module: str
    billing_type: str
    quantities: dict[str, Decimal]
    measured_at: dict[str, datetime]


def _parse_detail(detail) -> _Detail | None:
    """A sync history row's JSON detail (compute.Outcome.detail), or None when it has
    none or is not of that shape (a row written before it was recorded)."""
    if not isinstance(detail, dict):
        return None
    module, billing_type = detail.get("module"), detail.get("billing_type")
    quantities, measured = detail.get("quantities"), detail.get("measured_at") or {}
    if not (isinstance(module, str) and isinstance(billing_type, str)):
        return None
    if not isinstance(quantities, dict) or not isinstance(measured, dict):
        return None
    try:
        parsed = {str(o): Decimal(str(q)) for o, q in quantities.items()}
    except InvalidOperation:
        return None
    if not all(q.is_finite() for q in parsed.values()):
        return None
    times = {}
    for organization, text in measured.items():
        try:
            moment = datetime.fromisoformat(str(text))
        except ValueError:
            continue
        times[str(organization)] = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return _Detail(module, billing_type, parsed, times)


BREAKDOWN_SOURCES = {UnitChangeSource.SYNC, UnitChangeSource.APPROVED}


def sync_breakdowns(
    *, company: Company | int, changes: Iterable[ServiceUnitChange | HeldChange]
) -> dict[int, SyncBreakdown]:
    """The breakdown of each sync change among `changes` (a page of unit history rows or
    of a run's changes), by change id. Two queries whatever the number of rows: their
    modules with the billing types, and the organizations they name, each with its
    parent's name."""
    details = {}
    for change in changes:
        # A held change (no source) and an approved one carry a sync's detail too.
        if getattr(change, "source", UnitChangeSource.SYNC) in BREAKDOWN_SOURCES:
            detail = _parse_detail(change.detail)
            if detail is not None:
                details[change] = detail
    if not details:
        return {}
    wanted: dict[str, set[str]] = defaultdict(set)
    for detail in details.values():
        wanted[detail.module].update(detail.quantities)
    module_ids: dict[str, int] = {}
    module_names: dict[str, str] = {}
    kinds: dict[tuple[str, str], tuple[str, str]] = {}
    for module, module_id, module_name, code, name, unit in (
        Module.objects.for_company(company)
        .filter(code__in=sorted(wanted))
        .values_list(
            "code",
            "id",
            "name",
            "billing_types__code",
            "billing_types__name",
            "billing_types__unit",
        )
    ):
        module_ids[module], module_names[module] = module_id, module_name
        if code is not None:  # a module without billing types (outer join)
            kinds[(module, code)] = (name, unit)
    directory = _directory(company, module_ids, wanted)
    breakdowns = {}
    for change, detail in details.items():
        lines = []
        for organization, quantity in detail.quantities.items():
            known = directory.get((detail.module, organization))
            lines.append(
                BreakdownLine(
                    organization_id=organization,
                    name=known.name if known else None,
                    parent_id=(known.parent_id or None) if known else None,
                    parent_name=known.parent_name if known else None,
                    removed=known.removed if known else False,
                    quantity=quantity,
                    measured_at=detail.measured_at.get(organization),
                )
            )
        ordered = _tree_order(lines)
        kind_name, unit = kinds.get((detail.module, detail.billing_type), (None, ""))
        breakdowns[change.pk] = SyncBreakdown(
            change_id=change.pk,
            run_id=change.sync_run_id,
            module=detail.module,
            module_name=module_names.get(detail.module),
            billing_type=detail.billing_type,
            billing_type_name=kind_name,
            unit=unit,
            organizations=ordered,
            exact_total=sum(detail.quantities.values(), Decimal(0)),
            units=change.new_units,
        )
    return breakdowns


class _Known(NamedTuple):
    name: str
    parent_id: str  # "" without a parent
    parent_name: str | None  # None: no parent, or one no longer in the directory
    removed: bool


def _directory(
    company: Company | int, module_ids: dict[str, int], wanted: dict[str, set[str]]
) -> dict[tuple[str, str], _Known]:
    """(module code, organization id) -> what the stored directory knows of the
    organizations asked for; one query for up to _IDS_PER_QUERY of them."""
    # By module id, not code: (module_id, external_id) is the directory's unique index,
    # which a condition on the joined module's code cannot use (PostgreSQL then reads
    # every organization of the company: 30 ms at 150,000).
    codes = {module_id: code for code, module_id in module_ids.items()}
    pairs = [
        (module_ids[module], o)
        for module in sorted(wanted)
        if module in module_ids
        for o in sorted(wanted[module])
    ]
    parents = Organization.objects.filter(
        module_id=OuterRef("module_id"), external_id=OuterRef("parent_external_id")
    ).values("name")[:1]
    found = {}
    for start in range(0, len(pairs), _IDS_PER_QUERY):
        chunk: dict[int, list[str]] = defaultdict(list)
        for module_id, organization in pairs[start : start + _IDS_PER_QUERY]:
            chunk[module_id].append(organization)
        condition = Q()
        for module_id, ids in chunk.items():
            condition |= Q(module_id=module_id, external_id__in=ids)
        rows = (
            Organization.objects.for_company(company)
            .filter(condition)
            .annotate(parent_name=Subquery(parents))
            .values_list(
                "module_id",
                "external_id",
                "name",
                "parent_external_id",
                "parent_name",
                "removed_at",
            )
        )
        for module_id, external_id, name, parent_id, parent_name, removed_at in rows:
            found[(codes[module_id], external_id)] = _Known(
                name, parent_id, parent_name, removed_at is not None
            )
    return found


def _tree_order(lines: list[BreakdownLine]) -> list[BreakdownLine]:
    """By name (those no longer in the directory last), each organization followed by
    its children among the lines: a parent and the sites mapped with it read together."""
    by_id = {line.organization_id: line for line in lines}

    def key(line: BreakdownLine) -> tuple[bool, str, str]:
        return (line.name is None, (line.name or "").casefold(), line.organization_id)

    children: dict[str | None, list[BreakdownLine]] = defaultdict(list)
    for line in lines:
        parent = line.parent_id if line.parent_id in by_id else None
        children[parent].append(line)
    ordered: list[BreakdownLine] = []
    seen: set[str] = set()

    def visit(line: BreakdownLine) -> None:
        if line.organization_id in seen:
            return
        seen.add(line.organization_id)
        ordered.append(line)
        for child in sorted(children[line.organization_id], key=key):
            visit(child)

    for line in sorted(children[None], key=key):
        visit(line)
    for line in sorted(lines, key=key):  # a cycle of parents: none is a root
        visit(line)
    return ordered
