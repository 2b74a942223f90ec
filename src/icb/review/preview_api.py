"""The sync preview over JSON: what a sync would change now for one service or one
account (answered at once), or the whole company (a background task to poll); written
nowhere (billing_sync/preview.py). Thin: check, call, answer."""

import datetime
from typing import Literal

from django.conf import settings
from django.db import transaction
from ninja import Field, Query, Router, Schema, Status
from pydantic import model_validator

from icb.billing_sync.models import PreviewStatus
from icb.billing_sync.preview import Decision
from icb.billing_sync.services import preview_now, start_company_preview
from icb.billing_sync.tasks import preview_company_task
from icb.common.pagination import MAX_PAGE_SIZE, paginate
from icb.common.schemas import DecimalOut, Flag, Id
from icb.tenancy.models import Area, Level
from icb.tenancy.permissions import require

from . import selectors

router = Router(tags=["billing review"])

DecisionName = Literal[
    "applied", "held", "kept", "unchanged", "failed", "mapping_incomplete"
]  # Decision.ALL
assert set(DecisionName.__args__) == set(Decision.ALL)  # type: ignore[attr-defined]


class PreviewIn(Schema):
    service_id: Id | None = Field(None, ge=1)
    account_id: Id | None = Field(None, ge=1, description="every ICB service of the account")
    all: Flag | None = Field(None, description="true: the whole company, in the background")

    @model_validator(mode="after")
    def _one_of(self):
        given = [self.service_id is not None, self.account_id is not None, bool(self.all)]
        if sum(given) != 1 or self.all is False:
            raise ValueError('Send exactly one of service_id, account_id or "all": true.')
        return self


class PreviewRowOut(Schema):
    service_id: int
    service: str
    contract_id: int
    account_id: int
    account: str
    module: str | None
    current_units: DecimalOut
    new_units: DecimalOut | None = Field(
        ..., description="the hub's number now (null when it failed or nothing is mapped)"
    )
    decision: DecisionName = Field(
        ...,
        description="applied, held (`rule` says why), kept (the number a person "
        "dismissed), unchanged, failed (`message` says why) or mapping_incomplete",
    )
    rule: str | None
    message: str
    monthly_impact: DecimalOut = Field(..., description="(new − current units) × unit price")
    currency: str


class PreviewOut(Schema):
    services: list[PreviewRowOut]
    counts: dict[str, int] = Field(..., description="the services by decision")


class PreviewStartedOut(Schema):
    id: int = Field(..., description="poll GET /sync-previews/{id}")
    status: PreviewStatus


@router.post(
    "/sync-preview",
    response={200: PreviewOut, 202: PreviewStartedOut},
    summary="What a sync would change now",
)
def sync_preview(request, payload: PreviewIn):
    """Reads the hub and puts each new number to the review policy as a sync would;
    writes nothing. A service or an account is answered at once, bounded like Sync now;
    `all` starts a background task and answers 202 with the preview to poll. A hub that
    is not connected is a 409, a hub read that fails is each service's `failed` row."""
    require(request.user, Area.BILLING_REVIEW, Level.VIEW)
    if payload.all:
        preview = start_company_preview(company=request.company, actor=request.user)
        transaction.on_commit(lambda: preview_company_task.delay(preview.pk))
        return Status(202, {"id": preview.pk, "status": preview.status})
    scope = selectors.preview_scope(
        company=request.company, service_id=payload.service_id, account_id=payload.account_id
    )
    rows = [row.as_json() for row in preview_now(company=request.company, services=scope.services)]
    return Status(200, {"services": rows, "counts": selectors.preview_counts(rows)})


class PreviewPaging(Schema):
    decision: DecisionName | None = None
    sort: Literal["impact", "service"] = "impact"
    page: int = Field(1, ge=1)
    page_size: int = Field(settings.ICB_API_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)


class SyncPreviewOut(Schema):
    id: int
    status: PreviewStatus
    services_done: int
    services_total: int
    error: str
    created_at: datetime.datetime
    finished_at: datetime.datetime | None
    counts: dict[str, int] = Field(..., description="the services by decision (when done)")
    items: list[PreviewRowOut] = Field(..., description="this page of the rows (when done)")
    count: int
    page: int
    pages: int
    page_size: int


@router.get(
    "/sync-previews/{preview_id}", response=SyncPreviewOut, summary="A company-wide preview"
)
def get_sync_preview(request, preview_id: int, paging: Query[PreviewPaging]):
    """Its progress while it runs; when done, its rows (largest monthly impact first, or
    by service), of one `decision` if given, paginated."""
    require(request.user, Area.BILLING_REVIEW, Level.VIEW)
    preview = selectors.sync_preview_get(company=request.company, preview_id=preview_id)
    rows = selectors.sync_preview_rows(preview, decision=paging.decision or "", sort=paging.sort)
    page = paginate(rows, paging.page, paging.page_size)
    return {
        "id": preview.pk,
        "status": preview.status,
        "services_done": preview.services_done,
        "services_total": preview.services_total,
        "error": preview.error,
        "created_at": preview.created_at,
        "finished_at": preview.finished_at,
        "counts": selectors.preview_counts(preview.rows),
        **page.__dict__,
    }
