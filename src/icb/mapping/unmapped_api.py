"""API of the unmapped usage and the mapping suggestions (permission area "Billing
review"; accepting a suggestion maps, so it needs "Hub Settings" modify as well). Thin:
parse, check the permissions, call."""

from datetime import datetime
from decimal import Decimal

from django.conf import settings
from ninja import Field, Query, Router, Schema

from icb.common.errors import InvalidInput
from icb.common.pagination import MAX_PAGE_SIZE, paginate
from icb.common.schemas import DecimalOut, Id, Page, decimal_out
from icb.tenancy.models import Area, Level
from icb.tenancy.permissions import require

from . import selectors, suggestions, unmapped_selectors
from .models import UnmappedScan

router = Router(tags=["unmapped usage"])


class ScanOut(Schema):
    """The background work that reads the unmapped usage and searches the suggestions."""

    step: str = Field(..., description="usage, suggestions (running), done or failed")
    done: int = Field(..., description="organizations read or searched so far")
    total: int
    started_at: datetime
    finished_at: datetime | None
    usage_read_at: datetime | None = Field(..., description="when the usage shown was read")
    error: str


class SuggestionOut(Schema):
    module: str
    organization_id: str
    organization_name: str
    account_id: int
    account_name: str
    confidence: float = Field(..., ge=0, le=1)
    reason: str


class UnmappedOrganizationOut(Schema):
    module: str
    module_name: str
    organization_id: str
    name: str
    parent_name: str | None
    quantities: dict[str, str] = Field(
        ..., description="{billing type code: quantity as a decimal string}"
    )
    estimated_monthly_revenue: DecimalOut | None = Field(
        ...,
        description="Σ quantity × the usual price: the median unit price of the company's ICB "
        "services of the module and billing type when the usage was read (`priced_at`); null "
        "when none was billed by them.",
    )
    new: bool = Field(..., description="first listed by the hub at its latest directory refresh")
    suggestion: SuggestionOut | None


class UnmappedPage(Page[UnmappedOrganizationOut]):
    total_estimated_monthly_revenue: DecimalOut = Field(
        ..., description="of every organization listed (the module's, with `module`)"
    )
    priced_at: datetime | None = Field(
        ..., description="when the usual prices were computed (with each read of the usage)"
    )
    scan: ScanOut | None


class UnmappedQuery(Schema):
    module: str | None = Field(None, max_length=64)
    new: bool = Field(False, description="only the organizations marked new")
    page: int = Field(1, ge=1)
    page_size: int = Field(settings.ICB_API_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)


class SuggestionPage(Page[SuggestionOut]):
    scan: ScanOut | None


class SuggestionQuery(Schema):
    module: str | None = Field(None, max_length=64)
    min_confidence: Decimal | None = Field(None, ge=0, le=1, allow_inf_nan=False)
    page: int = Field(1, ge=1)
    page_size: int = Field(settings.ICB_API_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)


class PickIn(Schema):
    module: str = Field(..., min_length=1, max_length=64)
    organization_id: str = Field(..., min_length=1, max_length=128)
    account_id: Id = Field(..., ge=1)


class AcceptIn(Schema):
    suggestions: list[PickIn] | None = Field(
        None, max_length=suggestions.MAX_PICKS, description="these suggestions, as shown"
    )
    min_confidence: Decimal | None = Field(
        None,
        ge=0,
        le=1,
        allow_inf_nan=False,
        description="or every suggestion at least this confident",
    )
    module: str | None = Field(None, max_length=64, description="with min_confidence: one module")


class AcceptOut(Schema):
    accepted: int


def _scan(scan: UnmappedScan | None) -> dict | None:
    if scan is None:
        return None
    return {
        "step": scan.step,
        "done": scan.done,
        "total": scan.total,
        "started_at": scan.started_at,
        "finished_at": scan.finished_at,
        "usage_read_at": scan.usage_read_at,
        "error": scan.error,
    }


def _suggestion(
    module: str,
    org_id: str,
    org_name: str,
    account_id: int,
    account_name: str,
    confidence: Decimal,
    reason: str,
) -> dict:
    return {
        "module": module,
        "organization_id": org_id,
        "organization_name": org_name,
        "account_id": account_id,
        "account_name": account_name,
        "confidence": float(confidence),
        "reason": reason,
    }


def _module(request, code: str | None) -> str | None:
    """A module filter names one of the company's modules (its code)."""
    if code and code not in selectors.module_names(company=request.company):
        raise InvalidInput(f"Unknown module “{code}”.", field="module")
    return code or None


@router.get("/unmapped-organizations", response=UnmappedPage)
def unmapped_organizations(request, query: Query[UnmappedQuery]):
    """Organizations with usage that belong to no account, the most revenue first."""
    require(request.user, Area.BILLING_REVIEW, Level.VIEW)
    module = _module(request, query.module)
    page = unmapped_selectors.unmapped_page(
        company=request.company,
        module=module,
        new_only=query.new,
        page=query.page,
        page_size=query.page_size,
    )
    summary = unmapped_selectors.unmapped_summary(company=request.company, module=module)
    return {
        "items": [
            {
                "module": i.module,
                "module_name": i.module_name,
                "organization_id": i.organization_id,
                "name": i.name,
                "parent_name": i.parent_name,
                "quantities": {q.billing_type: q.text for q in i.quantities},
                "estimated_monthly_revenue": decimal_out(i.estimated_monthly_revenue)
                if i.priced
                else None,
                "new": i.new,
                "suggestion": _suggestion(
                    i.module,
                    i.organization_id,
                    i.name,
                    i.suggestion.account_id,
                    i.suggestion.account_name,
                    i.suggestion.confidence,
                    i.suggestion.reason,
                )
                if i.suggestion
                else None,
            }
            for i in page.items
        ],
        "count": page.count,
        "page": page.page,
        "pages": page.pages,
        "page_size": page.page_size,
        "total_estimated_monthly_revenue": decimal_out(summary.revenue),
        "priced_at": summary.priced_at,
        "scan": _scan(unmapped_selectors.scan_of(company=request.company)),
    }


@router.get("/mapping-suggestions", response=SuggestionPage)
def mapping_suggestions(request, query: Query[SuggestionQuery]):
    """The account each unmapped organization most likely belongs to, most confident
    first. Found by a background search; applied only when accepted."""
    require(request.user, Area.BILLING_REVIEW, Level.VIEW)
    rows = suggestions.suggestion_list(
        company=request.company,
        module=_module(request, query.module),
        min_confidence=query.min_confidence,
    )
    page = paginate(rows, query.page, query.page_size)
    return {
        "items": [
            _suggestion(
                s.module.code,
                s.organization.external_id,
                s.organization.name,
                s.account_id,
                s.account.name,
                s.confidence,
                s.reason,
            )
            for s in page.items
        ],
        "count": page.count,
        "page": page.page,
        "pages": page.pages,
        "page_size": page.page_size,
        "scan": _scan(unmapped_selectors.scan_of(company=request.company)),
    }


@router.post("/mapping-suggestions/accept", response=AcceptOut)
def accept_suggestions(request, payload: AcceptIn):
    """Map the named suggestions (each as shown: module, organization, account), or every
    suggestion of at least `min_confidence`. Mapping again what is mapped is a no-op."""
    require(request.user, Area.BILLING_REVIEW, Level.MODIFY)
    require(request.user, Area.HUB_SETTINGS, Level.MODIFY)
    if (payload.suggestions is None) == (payload.min_confidence is None):
        raise InvalidInput(
            "Send either the suggestions to accept or a minimum confidence.", field="suggestions"
        )
    picks = None
    if payload.suggestions is not None:
        picks = [suggestions.Pick(**p.model_dump()) for p in payload.suggestions]
    accepted = suggestions.accept_suggestions(
        company=request.company,
        user=request.user,
        picks=picks,
        min_confidence=payload.min_confidence,
        module=_module(request, payload.module),
    )
    return {"accepted": accepted}
