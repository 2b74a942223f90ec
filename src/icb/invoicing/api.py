"""Invoicing over JSON: invoice runs (start, progress) and invoices (list, one, finalize,
void, credit note). Thin: check, call a service or selector, answer."""

import datetime
from typing import Literal

from ninja import Field, Query, Router, Schema, Status

from icb.common.pagination import MAX_PAGE_SIZE, paginate
from icb.common.schemas import DecimalOut, Page, decimal_out
from icb.tenancy.models import Area, Level
from icb.tenancy.permissions import require

from . import invoices, runs, selectors
from .models import InvoiceStatus
from .tasks import enqueue_build

router = Router(tags=["invoicing"])

RunStatusOut = Literal["running", "done", "failed"]


class RunIn(Schema):
    period_start: datetime.date = Field(..., description="the first day of the month billed")


class RunOut(Schema):
    id: int
    status: RunStatusOut
    period_start: datetime.date
    period_end: datetime.date
    progress: int = Field(..., description="percent of the due contracts computed")
    message: str = Field(..., description="why it failed, or the contracts it left out")
    started_at: datetime.datetime
    finished_at: datetime.datetime | None


class LineOut(Schema):
    kind: Literal["recurring", "adjustment", "one_off"]
    description: str
    quantity: DecimalOut
    unit_price: DecimalOut
    amount: DecimalOut
    period_start: datetime.date | None
    period_end: datetime.date | None
    unit_change_ids: list[int] = Field(..., description="the unit history rows behind it")

    @staticmethod
    def resolve_quantity(obj) -> str:
        return decimal_out(obj.quantity)

    @staticmethod
    def resolve_unit_price(obj) -> str:
        return decimal_out(obj.unit_price)

    @staticmethod
    def resolve_amount(obj) -> str:
        return decimal_out(obj.amount)


class InvoiceOut(Schema):
    id: int
    account_id: int
    contract_ids: list[int]
    run_id: int | None
    number: str | None = Field(..., description="given when final")
    status: Literal["draft", "final", "void"]
    kind: Literal["invoice", "credit_note"]
    period_start: datetime.date
    period_end: datetime.date
    issue_date: datetime.date | None
    due_date: datetime.date | None
    currency: str
    subtotal: DecimalOut
    tax: DecimalOut
    total: DecimalOut
    lines: list[LineOut] = Field(..., description="the billed lines (removed ones left out)")

    @staticmethod
    def resolve_subtotal(obj) -> str:
        return decimal_out(obj.subtotal)

    @staticmethod
    def resolve_tax(obj) -> str:
        return decimal_out(obj.tax)

    @staticmethod
    def resolve_total(obj) -> str:
        return decimal_out(obj.total)

    @staticmethod
    def resolve_lines(obj) -> list:
        return [line for line in obj.line_list if not line.removed]


class InvoicePage(Page[InvoiceOut]):
    pass


class InvoiceFilter(Schema):
    run_id: int | None = Field(None, ge=1, le=2**63 - 1)
    account_id: int | None = Field(None, ge=1, le=2**63 - 1)
    status: InvoiceStatus | None = None
    page: int = Field(1, ge=1, le=10**6)
    page_size: int = Field(50, ge=1, le=MAX_PAGE_SIZE)


class VoidIn(Schema):
    reason: str = Field(..., min_length=1, max_length=500)


@router.post("/invoice-runs", response={202: RunOut}, summary="Start an invoice run")
def start_run(request, payload: RunIn):
    """Build the drafts of the period in the background (or rebuild them: one run per
    period). Poll GET /invoice-runs/{invoice_run_id} for its progress."""
    require(request.user, Area.INVOICING, Level.MODIFY)
    run, started = runs.start_run(
        company=request.company, actor=request.user, period_start=payload.period_start
    )
    if started:
        enqueue_build(run.pk)
    return Status(202, run)


@router.get("/invoice-runs/{invoice_run_id}", response=RunOut, summary="One invoice run")
def get_run(request, invoice_run_id: int):
    require(request.user, Area.INVOICING, Level.VIEW)
    return selectors.run_get(company=request.company, run_id=invoice_run_id)


@router.get("/invoices", response=InvoicePage, summary="Invoices and drafts")
def list_invoices(request, filters: Query[InvoiceFilter]):
    require(request.user, Area.INVOICING, Level.VIEW)
    listed = selectors.invoice_list(
        company=request.company,
        run_id=filters.run_id,
        account_id=filters.account_id,
        status=filters.status,
    )
    page = paginate(listed, filters.page, filters.page_size)
    page.items = selectors.with_details(page.items)
    return page


def _invoice(request, invoice_id: int):
    return selectors.invoice_get(company=request.company, invoice_id=invoice_id)


@router.get("/invoices/{invoice_id}", response=InvoiceOut, summary="One invoice")
def get_invoice(request, invoice_id: int):
    require(request.user, Area.INVOICING, Level.VIEW)
    return _invoice(request, invoice_id)


@router.post("/invoices/{invoice_id}/finalize", response=InvoiceOut, summary="Finalize a draft")
def finalize(request, invoice_id: int):
    """Give the draft the company's next number, today's date and its due date; from
    then on it is frozen (409 `invoice_final`)."""
    require(request.user, Area.INVOICING, Level.MODIFY)
    invoice = _invoice(request, invoice_id)
    invoices.finalize(invoice=invoice, actor=request.user)
    return _invoice(request, invoice_id)


@router.post("/invoices/{invoice_id}/void", response=InvoiceOut, summary="Void a final invoice")
def void(request, invoice_id: int, payload: VoidIn):
    """Cancel a final invoice: it keeps its number; the next run bills its periods again."""
    require(request.user, Area.INVOICING, Level.MODIFY)
    invoice = _invoice(request, invoice_id)
    invoices.void(invoice=invoice, actor=request.user, reason=payload.reason)
    return _invoice(request, invoice_id)


@router.post(
    "/invoices/{invoice_id}/credit-note",
    response={201: InvoiceOut},
    summary="Credit a final invoice",
)
def credit_note(request, invoice_id: int):
    """A final credit note with its own number and the invoice's lines negated; the next
    run bills its periods again."""
    require(request.user, Area.INVOICING, Level.MODIFY)
    invoice = _invoice(request, invoice_id)
    note = invoices.credit_note(invoice=invoice, actor=request.user)
    return Status(201, _invoice(request, note.pk))
