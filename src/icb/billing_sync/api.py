"""Integrated Customer Billing over JSON: turn it on or off for a service, sync a
service now, and read the sync history. Thin: check, call a service, answer."""

import datetime

from django.conf import settings
from ninja import Field, Router, Schema

from icb.common.pagination import paginate
from icb.common.schemas import DecimalOut, Page, decimal_out
from icb.contracts import selectors as contract_selectors
from icb.contracts.api import ServiceOut
from icb.tenancy.models import Area, Level
from icb.tenancy.permissions import require

from . import selectors, services
from .schemas import SyncBreakdownOut

router = Router(tags=["integrated customer billing"])


class IcbIn(Schema):
    module: str = Field(..., description="a module code, e.g. rmm")
    billing_type: str = Field(..., description="a billing type code of that module")


class SyncRunOut(Schema):
    id: int
    trigger: str
    user: str | None
    started_at: datetime.datetime
    finished_at: datetime.datetime | None = Field(
        ...,
        description="when the last batch was written, or when the run was closed as interrupted",
    )
    status: str = Field(
        ...,
        description="running, finished, or interrupted: its claims expired before every "
        "batch was written (a worker died); its services are synced again by the next run",
    )
    batches_total: int
    batches_done: int = Field(
        ...,
        description="batches written; of an interrupted run, "
        "batches_total - batches_done were never written",
    )
    changed: int
    unchanged: int
    failed: int
    mapping_incomplete: int
    held: int = Field(..., description="changes held for review (the units were kept)")
    errors: list[dict]

    @staticmethod
    def resolve_user(obj) -> str | None:
        return obj.user.email if obj.user_id and obj.user else None

    @staticmethod
    def resolve_changed(obj) -> int:
        return obj.services_changed

    @staticmethod
    def resolve_unchanged(obj) -> int:
        return obj.services_unchanged

    @staticmethod
    def resolve_failed(obj) -> int:
        return obj.services_failed

    @staticmethod
    def resolve_mapping_incomplete(obj) -> int:
        return obj.services_incomplete

    @staticmethod
    def resolve_held(obj) -> int:
        return obj.services_held


class SyncRunPage(Page[SyncRunOut]):
    pass


class SyncRunItemOut(Schema):
    service_id: int
    service: str
    contract_id: int
    account: str
    status: str
    old_units: DecimalOut | None
    new_units: DecimalOut | None
    message: str
    breakdown: SyncBreakdownOut | None = Field(
        None,
        description="a changed service: the organizations' quantities behind `new_units` "
        "(null for other results)",
    )

    @staticmethod
    def resolve_service(obj) -> str:
        return obj.service.name

    @staticmethod
    def resolve_contract_id(obj) -> int:
        return obj.service.contract_id

    @staticmethod
    def resolve_account(obj) -> str:
        return obj.service.contract.account.name

    @staticmethod
    def resolve_old_units(obj) -> str | None:
        return decimal_out(obj.old_units)

    @staticmethod
    def resolve_new_units(obj) -> str | None:
        return decimal_out(obj.new_units)


class SyncRunItemPage(Page[SyncRunItemOut]):
    pass


class SyncRunDetailOut(SyncRunOut):
    items: list[SyncRunItemOut] = Field(
        ...,
        description="the first page of the run's services; all of them, by result, at "
        "/sync-runs/{id}/services",
    )
    items_count: int

    @staticmethod
    def resolve_items(obj) -> list:
        return list(selectors.run_items(obj)[: settings.ICB_API_PAGE_SIZE])

    @staticmethod
    def resolve_items_count(obj) -> int:
        return selectors.run_items(obj).count()


def _service(request, service_id):
    return contract_selectors.service_get(company=request.company, service_id=service_id)


@router.put(
    "/services/{service_id}/icb",
    response=ServiceOut,
    summary="Bill a service by Integrated Customer Billing",
)
def put_icb(request, service_id: int, payload: IcbIn):
    """Units then come from the hub: the sum over the organizations mapped to the
    contract's account in `module` of their `billing_type` quantity. When this turns
    ICB on or changes the module or billing type, the service is synced at once, as by
    `POST /services/{id}/sync` (within the same time limit), and the answer is its state
    after that sync: `icb.status` `ok` (units from the hub), `mapping_incomplete` (no
    organization mapped yet: allowed, synced once one is) or `error` (`icb.message`;
    units kept, retried). The same choice again changes and syncs nothing."""
    require(request.user, Area.CONTRACTS, Level.MODIFY)
    return services.enable_icb_and_sync(
        service=_service(request, service_id),
        actor=request.user,
        module=payload.module,
        billing_type=payload.billing_type,
    )


@router.delete(
    "/services/{service_id}/icb",
    response=ServiceOut,
    summary="Stop Integrated Customer Billing (units kept, edited by hand again)",
)
def delete_icb(request, service_id: int):
    require(request.user, Area.CONTRACTS, Level.MODIFY)
    return services.stop_icb(service=_service(request, service_id), actor=request.user)


@router.post("/services/{service_id}/sync", response=ServiceOut, summary="Sync an ICB service now")
def sync_service(request, service_id: int):
    """Runs the sync in the request and answers the service's new state: units, and
    `icb.status` `ok`, `mapping_incomplete` or `error` (with `icb.message`)."""
    require(request.user, Area.CONTRACTS, Level.MODIFY)
    return services.sync_now(service=_service(request, service_id), actor=request.user)


@router.get("/sync-runs", response=SyncRunPage, summary="Sync runs, newest first")
def list_runs(request, page: int = 1, page_size: int | None = None):
    require(request.user, Area.CONTRACTS, Level.VIEW)
    return paginate(
        selectors.run_list(company=request.company), page, page_size or settings.ICB_API_PAGE_SIZE
    )


@router.get(
    "/sync-runs/{run_id}",
    response=SyncRunDetailOut,
    summary="A sync run with the result per service",
)
def get_run(request, run_id: int):
    require(request.user, Area.CONTRACTS, Level.VIEW)
    return selectors.run_get(company=request.company, run_id=run_id)


@router.get(
    "/sync-runs/{run_id}/services",
    response=SyncRunItemPage,
    summary="The services of a sync run, by result",
)
def list_run_services(
    request, run_id: int, status: str = "", page: int = 1, page_size: int | None = None
):
    """Services whose units changed, that failed or lack a mapping (`status`: changed,
    error, mapping_incomplete; a manual sync also lists an unchanged service). Nightly
    runs count their unchanged services without listing them."""
    require(request.user, Area.CONTRACTS, Level.VIEW)
    run = selectors.run_get(company=request.company, run_id=run_id)
    return paginate(
        selectors.run_items(run, status=status), page, page_size or settings.ICB_API_PAGE_SIZE
    )
