"""Reads of Integrated Customer Billing that the pages and the API share: the live
mapping state of a service, the sync runs and their services."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import QuerySet

from icb.common.errors import NotFound
from icb.contracts.models import Service, ServiceUnitChange, SyncStatus
from icb.contracts.selectors import valid_id
from icb.mapping.models import Mapping
from icb.tenancy.models import Company

from .compute import MAPPING_INCOMPLETE_MESSAGE
from .models import ItemStatus, SyncRun


def mapped_module_ids(*, company: Company, account_id: int) -> set[int]:
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
            company=service.company, account_id=service.contract.account_id
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

    @property
    def service_id(self) -> int:
        return self.service.pk

    @property
    def status_display(self) -> str:
        return ItemStatus(self.status).label


class RunServices:
    """A run's services, changes first then items, each part in id order; sliceable and
    countable, so it paginates like a queryset (two queries per page)."""

    def __init__(self, run: SyncRun, status: str = ""):
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
        rows = (
            [
                RunService(c.service, ItemStatus.CHANGED, c.old_units, c.new_units, "")
                for c in self.changes[start : min(stop, changes)]
            ]
            if start < changes
            else []
        )
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
