"""Billing review over JSON: the held changes (filtered as the page), the decisions on
one or many, and the review policy. Thin: check, call a service or selector, answer."""

import datetime
from decimal import Decimal
from typing import Literal

from django.conf import settings
from ninja import Field, Query, Router, Schema
from pydantic import model_validator

from icb.billing_sync.models import HeldChange, HeldStatus, HoldRule, ReviewMode
from icb.billing_sync.schemas import SyncBreakdownOut
from icb.billing_sync.selectors import sync_breakdowns
from icb.common.errors import InvalidInput
from icb.common.money import to_cents
from icb.common.pagination import MAX_PAGE_SIZE, paginate
from icb.common.schemas import DecimalIn, DecimalOut, Flag, Id, Page, decimal_out
from icb.crm.api import AccountRef
from icb.tenancy.models import Area, Level
from icb.tenancy.permissions import require, require_administrator

from . import selectors, services
from .filters import AccountOptionFilter, HeldFilter

router = Router(tags=["billing review"])

MAX_BULK_IDS = 5000


class HeldChangeOut(Schema):
    id: int
    service_id: int
    service: str
    contract_id: int
    account_id: int
    account: str
    module: str | None = Field(..., description="the module code")
    current_units: DecimalOut = Field(..., description="the service's units, kept meanwhile")
    proposed_units: DecimalOut = Field(..., description="the hub's number at the last sync")
    monthly_impact: DecimalOut = Field(
        ..., description="(proposed − current units) × unit price, in `currency`"
    )
    currency: str
    rule: HoldRule = Field(..., description="the rule of the policy that held it")
    status: HeldStatus
    breakdown: SyncBreakdownOut | None = Field(
        None, description="the organizations' quantities behind `proposed_units`"
    )
    first_seen_at: datetime.datetime
    last_seen_at: datetime.datetime
    sync_run_id: int | None = Field(..., description="the run that held it")
    decided_at: datetime.datetime | None
    decided_by: str | None
    decided_units: DecimalOut | None
    effective_date: datetime.date | None
    note: str = Field(..., description="the reason of a dismissal, the note of an adjustment")

    @staticmethod
    def resolve_service(obj) -> str:
        return obj.service.name

    @staticmethod
    def resolve_contract_id(obj) -> int:
        return obj.service.contract_id

    @staticmethod
    def resolve_account_id(obj) -> int:
        return obj.service.contract.account_id

    @staticmethod
    def resolve_account(obj) -> str:
        return obj.service.contract.account.name

    @staticmethod
    def resolve_module(obj) -> str | None:
        return obj.service.icb_module.code if obj.service.icb_module_id else None

    @staticmethod
    def resolve_current_units(obj) -> str:
        return decimal_out(obj.current_units)

    @staticmethod
    def resolve_proposed_units(obj) -> str:
        return decimal_out(obj.proposed_units)

    @staticmethod
    def resolve_monthly_impact(obj) -> str:
        return decimal_out(to_cents(obj.delta * obj.service.unit_price))

    @staticmethod
    def resolve_currency(obj) -> str:
        return obj.service.contract.currency

    @staticmethod
    def resolve_breakdown(obj):
        return getattr(obj, "breakdown", None)

    @staticmethod
    def resolve_decided_by(obj) -> str | None:
        return obj.decided_by.email if obj.decided_by_id and obj.decided_by else None

    @staticmethod
    def resolve_decided_units(obj) -> str | None:
        return decimal_out(obj.decided_units)


class HeldChangePage(Page[HeldChangeOut]):
    increases: dict[str, DecimalOut] = Field(
        ..., description="the monthly impact of every matching increase, by currency"
    )
    decreases: dict[str, DecimalOut] = Field(
        ..., description="the monthly impact of every matching decrease, by currency"
    )


class HeldPaging(Schema):
    page: int = Field(1, ge=1)
    page_size: int = Field(settings.ICB_API_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)


def _with_breakdowns(company, rows: list[HeldChange]) -> list[HeldChange]:
    breakdowns = sync_breakdowns(company=company, changes=rows)
    for row in rows:
        row.breakdown = breakdowns.get(row.pk)  # type: ignore[attr-defined]
    return rows


def _one(request, held_id: int) -> HeldChange:
    held = selectors.held_get(company=request.company, held_id=held_id)
    [row] = _with_breakdowns(
        request.company, selectors.held_rows(company=request.company, ids=[held.pk])
    )
    return row


def _sums(sums: dict[str, Decimal]) -> dict[str, str]:
    return {currency: str(to_cents(amount)) for currency, amount in sorted(sums.items())}


@router.get("/held-changes", response=HeldChangePage, summary="Held changes, largest impact first")
def list_held(request, filters: Query[HeldFilter], paging: Query[HeldPaging]):
    """The changes the review policy held (by default those pending), sorted by monthly
    impact in money, up or down; `increases` and `decreases` total every match."""
    require(request.user, Area.BILLING_REVIEW, Level.VIEW)
    listed = selectors.held_list(company=request.company, filters=filters)
    page = paginate(listed.ids, paging.page, paging.page_size)
    page.items = _with_breakdowns(
        request.company, selectors.held_rows(company=request.company, ids=page.items)
    )
    return {
        **page.__dict__,
        "increases": _sums(listed.increases),
        "decreases": _sums(listed.decreases),
    }


class BulkFilter(Schema):
    module: str = Field("", max_length=64)
    account_id: Id | None = Field(None, ge=1)
    service_id: Id | None = Field(None, ge=1)
    direction: Literal["up", "down"] | None = None
    rule: HoldRule | None = None
    min_impact: Decimal | None = Field(None, ge=0, max_digits=14, decimal_places=2)


class BulkIn(Schema):
    action: Literal["approve", "dismiss"]
    ids: list[Id] | None = Field(None, max_length=MAX_BULK_IDS, description="held change ids")
    filter: BulkFilter | None = Field(
        None, description="every pending held change matching it (as GET /held-changes)"
    )
    reason: str = Field("", max_length=500, description="of a dismissal")

    @model_validator(mode="after")
    def _one_of(self):
        if (self.ids is None) == (self.filter is None):
            raise ValueError("Send either ids or filter.")
        return self


class BulkSkippedOut(Schema):
    id: int
    detail: str


class BulkOut(Schema):
    decided: list[int]
    skipped: list[BulkSkippedOut] = Field(
        ..., description="decided by someone else or withdrawn meanwhile, with the reason"
    )


@router.post("/held-changes/bulk", response=BulkOut, summary="Approve or dismiss many")
def bulk(request, payload: BulkIn):
    """Approve (effective today) or dismiss the pending held changes of `ids`, or all
    those matching `filter`; each is decided on its own, those decided meanwhile are
    skipped with the reason."""
    require(request.user, Area.BILLING_REVIEW, Level.MODIFY)
    if payload.filter is not None:
        filters = HeldFilter(**payload.filter.dict())
        ids = selectors.held_list(company=request.company, filters=filters).ids
    else:
        ids = list(dict.fromkeys(payload.ids or []))
    held = selectors.held_rows(company=request.company, ids=ids)
    if len(held) != len(ids):
        raise InvalidInput("Unknown held change id.", field="ids")
    result = services.decide_many(
        held_changes=held, actor=request.user, action=payload.action, reason=payload.reason
    )
    return {
        "decided": result.decided,
        "skipped": [{"id": pk, "detail": why} for pk, why in result.skipped.items()],
    }


class AccountOptionPage(Page[AccountRef]):
    pass


@router.get(
    "/held-changes/account-options",
    response=AccountOptionPage,
    summary="Accounts with held changes",
)
def list_held_account_options(
    request, filters: Query[AccountOptionFilter], page: int = 1, page_size: int | None = None
):
    """The accounts that have a held change, in name order, whose name or code contains
    `q`: what the Billing review page's account box searches as you type."""
    require(request.user, Area.BILLING_REVIEW, Level.VIEW)
    accounts = selectors.account_options(company=request.company, **filters.selector_kwargs())
    return paginate(accounts, page, page_size or settings.ICB_API_PAGE_SIZE)


@router.get("/held-changes/{held_id}", response=HeldChangeOut, summary="One held change")
def get_held(request, held_id: int):
    require(request.user, Area.BILLING_REVIEW, Level.VIEW)
    return _one(request, held_id)


class ApproveIn(Schema):
    effective_date: datetime.date | None = Field(
        None,
        description="the day the new units count from (default today in the company's "
        "time zone; not in the future, not before the contract's start)",
    )


class DismissIn(Schema):
    reason: str = Field("", max_length=500)


class AdjustIn(Schema):
    units: DecimalIn
    note: str = Field(..., max_length=500)
    effective_date: datetime.date | None = None


@router.post(
    "/held-changes/{held_id}/approve", response=HeldChangeOut, summary="Approve a held change"
)
def approve(request, held_id: int, payload: ApproveIn):
    """The units become the proposed number, effective from `effective_date`. 409 when
    someone (or a sync) decided it meanwhile, or the service went back to manual billing."""
    require(request.user, Area.BILLING_REVIEW, Level.MODIFY)
    held = selectors.held_get(company=request.company, held_id=held_id)
    services.approve(held=held, actor=request.user, effective_date=payload.effective_date)
    return _one(request, held_id)


@router.post(
    "/held-changes/{held_id}/dismiss", response=HeldChangeOut, summary="Dismiss a held change"
)
def dismiss(request, held_id: int, payload: DismissIn):
    """The units stay; a later sync reporting the same number keeps them without asking
    again, a different number is held again."""
    require(request.user, Area.BILLING_REVIEW, Level.MODIFY)
    held = selectors.held_get(company=request.company, held_id=held_id)
    services.dismiss(held=held, actor=request.user, reason=payload.reason)
    return _one(request, held_id)


@router.post(
    "/held-changes/{held_id}/adjust",
    response=HeldChangeOut,
    summary="Set other units than those proposed",
)
def adjust(request, held_id: int, payload: AdjustIn):
    require(request.user, Area.BILLING_REVIEW, Level.MODIFY)
    held = selectors.held_get(company=request.company, held_id=held_id)
    services.adjust(
        held=held,
        actor=request.user,
        units=payload.units,
        note=payload.note,
        effective_date=payload.effective_date,
    )
    return _one(request, held_id)


class RulesIO(Schema):
    mode: ReviewMode
    max_units: Id | None = Field(None, ge=0, le=services.NUMBER_LIMITS["max_units"])
    max_percent: Id | None = Field(None, ge=0, le=services.NUMBER_LIMITS["max_percent"])
    hold_drop_to_zero: Flag
    hold_drop_percent: Id | None = Field(None, ge=0, le=100)
    hold_first_sync: Flag


class PolicyIO(RulesIO):
    modules: dict[str, RulesIO] = Field(
        default_factory=dict, description="overrides by module code; a module left out has none"
    )


@router.get("/review-policy", response=PolicyIO, summary="The review policy")
def get_policy(request):
    require(request.user, Area.BILLING_REVIEW, Level.VIEW)
    return selectors.policy_of(request.company)


@router.put("/review-policy", response=PolicyIO, summary="Change the review policy")
def put_policy(request, payload: PolicyIO):
    """Administrators only. Replaces the whole policy; the change is recorded (who,
    when, old → new)."""
    require_administrator(request.user)
    return services.policy_update(company=request.company, actor=request.user, data=payload.dict())
