"""Pages of Finance › Invoicing: the runs (New run), a run's drafts with their totals and
the change against each account's previous invoice (Finalize all), and an invoice with
its lines (one-off line, remove, override a quantity, finalize, void, credit note).
Thin: the rules are in runs.py and invoices.py, the reads in selectors.py."""

import datetime
from decimal import Decimal

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from icb.common.errors import NotFound, ServiceError
from icb.tenancy.models import Area, Level
from icb.tenancy.permissions import allows, area_required

from . import invoices, runs, selectors
from .models import InvoiceStatus
from .tasks import enqueue_build


def _month_choices(today: datetime.date) -> list[tuple[str, str]]:
    """This month, the next one and the twelve before, newest first."""
    choices = []
    index = today.year * 12 + today.month  # next month's index (0-based month + 1)
    for offset in range(14):
        year, month = divmod(index - offset, 12)
        first = datetime.date(year, month + 1, 1)
        choices.append((first.isoformat(), f"{first:%B %Y}"))
    return choices


def _today(request) -> datetime.date:
    return timezone.now().astimezone(request.company.zone).date()


@area_required(Area.INVOICING)
def run_list(request):
    today = _today(request)
    return render(
        request,
        "invoicing/run_list.html",
        {
            "runs": selectors.runs_recent(company=request.company),
            "months": _month_choices(today),
            "this_month": today.replace(day=1).isoformat(),
            "can_modify": allows(request.user, Area.INVOICING, Level.MODIFY),
        },
    )


@require_POST
@area_required(Area.INVOICING)
def run_create(request):
    try:
        period_start = datetime.date.fromisoformat(request.POST.get("period_start", "")[:10])
    except ValueError:
        messages.error(request, "Pick the month to invoice.")
        return redirect("invoicing:runs")
    try:
        run, started = runs.start_run(
            company=request.company, actor=request.user, period_start=period_start
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("invoicing:runs")
    if started:
        enqueue_build(run.pk)
        messages.success(request, f"Building the drafts of {run.period_start:%B %Y}.")
    else:
        messages.info(request, f"The run of {run.period_start:%B %Y} is already building.")
    return redirect("invoicing:run_detail", run.pk)


def _totals(invoices_list) -> list[tuple[str, Decimal]]:
    sums: dict[str, Decimal] = {}
    for invoice in invoices_list:
        sums[invoice.currency] = sums.get(invoice.currency, Decimal(0)) + invoice.total
    return sorted(sums.items())


@area_required(Area.INVOICING)
def run_detail(request, invoice_run_id: int):
    run = selectors.run_get(company=request.company, run_id=invoice_run_id)
    listed = selectors.with_changes(
        company=request.company,
        invoices=list(selectors.invoice_list(company=request.company, run_id=run.pk)),
    )
    drafts = [i for i in listed if i.status == InvoiceStatus.DRAFT]
    return render(
        request,
        "invoicing/run_detail.html",
        {
            "run": run,
            "invoices": listed,
            "drafts": drafts,
            "draft_totals": _totals(drafts),
            "flag_percent": selectors.CHANGE_FLAG_PERCENT,
            "can_modify": allows(request.user, Area.INVOICING, Level.MODIFY),
        },
    )


@require_POST
@area_required(Area.INVOICING)
def run_finalize(request, invoice_run_id: int):
    """Finalize every draft of the run, if they are still the ones the person confirmed."""
    run = selectors.run_get(company=request.company, run_id=invoice_run_id)
    drafts = list(
        selectors.invoice_list(company=request.company, run_id=run.pk, status=InvoiceStatus.DRAFT)
    )
    if request.POST.get("count") != str(len(drafts)):
        messages.error(
            request,
            f"The run has {len(drafts)} draft(s) now, not the number you confirmed; "
            "check them and finalize again.",
        )
        return redirect("invoicing:run_detail", run.pk)
    done = invoices.finalize_many(invoices=drafts, actor=request.user)
    if done.numbers:
        messages.success(
            request,
            f"Finalized {len(done.numbers)} invoice(s): {done.numbers[0]} to {done.numbers[-1]}.",
        )
    for why in done.skipped.values():
        messages.warning(request, why)
    return redirect("invoicing:run_detail", run.pk)


@area_required(Area.INVOICING)
def invoice_detail(request, invoice_id: int):
    invoice = selectors.invoice_get(company=request.company, invoice_id=invoice_id)
    return render(
        request,
        "invoicing/invoice_detail.html",
        {
            "invoice": invoice,
            "lines": invoice.line_list,
            "credit_notes": selectors.credit_notes_of(invoice=invoice),
            "can_modify": allows(request.user, Area.INVOICING, Level.MODIFY),
        },
    )


def _act(request, invoice_id: int, action, success: str):
    """Run a change of the invoice; its message, or the refusal, on the invoice page."""
    invoice = selectors.invoice_get(company=request.company, invoice_id=invoice_id)
    try:
        result = action(invoice)
    except NotFound:
        raise  # the 404 page: a line of another invoice or company
    except ServiceError as exc:
        for field_messages in exc.field_errors.values():
            for message in field_messages:
                messages.error(request, message)
        return redirect("invoicing:invoice_detail", invoice.pk)
    messages.success(request, success.format(result=result))
    target = getattr(result, "pk", invoice.pk) if success.startswith("Credit") else invoice.pk
    return redirect("invoicing:invoice_detail", target)


def _line(request, invoice, line_id: int):
    return selectors.line_get(company=request.company, invoice=invoice, line_id=line_id)


@require_POST
@area_required(Area.INVOICING)
def line_add(request, invoice_id: int):
    post = request.POST
    return _act(
        request,
        invoice_id,
        lambda invoice: invoices.add_one_off(
            invoice=invoice,
            actor=request.user,
            description=post.get("description", "")[:1000],
            quantity=post.get("quantity", "")[:40],
            unit_price=post.get("unit_price", "")[:40],
        ),
        "The line was added.",
    )


@require_POST
@area_required(Area.INVOICING)
def line_remove(request, invoice_id: int, line_id: int):
    return _act(
        request,
        invoice_id,
        lambda invoice: invoices.remove_line(
            line=_line(request, invoice, line_id),
            actor=request.user,
            reason=request.POST.get("reason", "")[:1000],
        ),
        "The line was removed.",
    )


@require_POST
@area_required(Area.INVOICING)
def line_quantity(request, invoice_id: int, line_id: int):
    return _act(
        request,
        invoice_id,
        lambda invoice: invoices.override_quantity(
            line=_line(request, invoice, line_id),
            actor=request.user,
            quantity=request.POST.get("quantity", "")[:40],
            note=request.POST.get("note", "")[:1000],
        ),
        "The quantity was changed.",
    )


@require_POST
@area_required(Area.INVOICING)
def invoice_finalize(request, invoice_id: int):
    return _act(
        request,
        invoice_id,
        lambda invoice: invoices.finalize(invoice=invoice, actor=request.user),
        "Invoice {result.number} is final.",
    )


@require_POST
@area_required(Area.INVOICING)
def invoice_void(request, invoice_id: int):
    return _act(
        request,
        invoice_id,
        lambda invoice: invoices.void(
            invoice=invoice, actor=request.user, reason=request.POST.get("reason", "")[:1000]
        ),
        "Invoice {result.number} is void; the next run of its month bills it again.",
    )


@require_POST
@area_required(Area.INVOICING)
def invoice_credit(request, invoice_id: int):
    return _act(
        request,
        invoice_id,
        lambda invoice: invoices.credit_note(invoice=invoice, actor=request.user),
        "Credit note {result.number} was issued.",
    )
