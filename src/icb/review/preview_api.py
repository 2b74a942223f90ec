"""The sync preview over JSON: what a sync would change now for one service or one
account, written nowhere (billing_sync/preview.py). Thin: check, call, answer."""

from ninja import Field, Router, Schema
from pydantic import model_validator

from icb.billing_sync.services import preview_now
from icb.common.schemas import DecimalOut, Id
from icb.tenancy.models import Area, Level
from icb.tenancy.permissions import require

from . import selectors

router = Router(tags=["billing review"])


class PreviewIn(Schema):
    service_id: Id | None = Field(None, ge=1)
    account_id: Id | None = Field(None, ge=1, description="every ICB service of the account")

    @model_validator(mode="after")
    def _one_of(self):
        if (self.service_id is None) == (self.account_id is None):
            raise ValueError("Send either service_id or account_id.")
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
    decision: str = Field(
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


@router.post("/sync-preview", response=PreviewOut, summary="What a sync would change now")
def sync_preview(request, payload: PreviewIn):
    """Reads the hub and puts each new number to the review policy as a sync would;
    writes nothing. Bounded like Sync now; a hub that is not connected is a 409, a hub
    read that fails is each service's `failed` row."""
    require(request.user, Area.BILLING_REVIEW, Level.VIEW)
    scope = selectors.preview_scope(
        company=request.company, service_id=payload.service_id, account_id=payload.account_id
    )
    rows = [row.as_json() for row in preview_now(company=request.company, services=scope.services)]
    return {"services": rows, "counts": selectors.preview_counts(rows)}
