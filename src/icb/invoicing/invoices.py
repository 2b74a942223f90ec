"""Use cases of one invoice: a draft's line edits (a one-off line, removing a line,
overriding a quantity), finalizing (the next number of the company's sequence), and the
corrections of a final invoice, void and credit note (docs/billing-rules.md).

A final or void invoice is frozen: every change here is refused with 409 `invoice_final`
(and on PostgreSQL by a trigger as well)."""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from icb.common.errors import Conflict, InvalidInput
from icb.common.money import to_minor_unit
from icb.tenancy.models import Company

from .inputs import billed_from_json, billed_to_json
from .models import (
    Invoice,
    InvoiceContract,
    InvoiceKind,
    InvoiceLine,
    InvoiceSequence,
    InvoiceStatus,
    LineKind,
)
from .rules import from_steps, to_steps

HUNDRED = Decimal(100)
MAX_QUANTITY = Decimal("999999999")  # the quantity columns hold 12 digits
NUMBER_DIGITS = 5
FINAL_MESSAGE = (
    "This invoice is {status}: it cannot be changed. Correct it with a void or a credit note."
)


def _frozen(invoice: Invoice) -> Conflict:
    return Conflict(
        FINAL_MESSAGE.format(status=invoice.get_status_display().lower()), code="invoice_final"
    )


def _locked(invoice: Invoice) -> Invoice:
    return Invoice.objects.select_for_update().get(pk=invoice.pk)


def _locked_draft(invoice: Invoice) -> Invoice:
    locked = _locked(invoice)
    if locked.status != InvoiceStatus.DRAFT:
        raise _frozen(locked)
    return locked


def _retotal(invoice: Invoice) -> None:
    lines = InvoiceLine.objects.filter(invoice=invoice, removed=False)
    amounts = list(lines.values_list("amount", "tax"))
    invoice.subtotal = sum((a for a, _ in amounts), Decimal(0))
    invoice.tax = sum((t for _, t in amounts), Decimal(0))
    invoice.total = invoice.subtotal + invoice.tax
    invoice.save(update_fields=["subtotal", "tax", "total"])


MAX_AMOUNT = Decimal(10) ** 11  # the amount columns hold 12 digits before the point


def _amounts(line: InvoiceLine, currency: str) -> None:
    amount = line.quantity * line.unit_price * line.days / line.period_days
    if abs(amount) >= MAX_AMOUNT:
        raise InvalidInput("The line's amount is too large.", field="quantity")
    line.amount = to_minor_unit(amount, currency)
    line.tax = to_minor_unit(line.amount * line.tax_rate / HUNDRED, currency)


def _reason(reason: str, *, what: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(f"Give the reason for {what}.", field="reason")
    if len(reason) > 500:
        raise InvalidInput("Use at most 500 characters.", field="reason")
    return reason


def _quantity(value, *, field: str = "quantity") -> Decimal:
    try:
        quantity = Decimal(str(value).strip())
    except Exception:
        raise InvalidInput("Enter a number.", field=field) from None
    if not quantity.is_finite() or abs(quantity) > MAX_QUANTITY:
        raise InvalidInput("Enter a number.", field=field)
    if quantity != quantity.quantize(Decimal("0.01")):
        raise InvalidInput("Use at most 2 decimal places.", field=field)
    return quantity


def add_one_off(*, invoice: Invoice, actor, description: str, quantity, unit_price) -> InvoiceLine:
    """A one-off line on a draft (quantity × unit price, taxed at the account's rate)."""
    description = (description or "").strip()
    if not description:
        raise InvalidInput("Describe the line.", field="description")
    if len(description) > 300:
        raise InvalidInput("Use at most 300 characters.", field="description")
    quantity = _quantity(quantity)
    price = _quantity(unit_price, field="unit_price")
    with transaction.atomic():
        locked = _locked_draft(invoice)
        rate = locked.account.tax_rate_in_effect(locked.company)
        last = InvoiceLine.objects.filter(invoice=locked).order_by("-position").first()
        line = InvoiceLine(
            company_id=locked.company_id,
            invoice=locked,
            position=(last.position + 1) if last else 0,
            kind=LineKind.ONE_OFF,
            description=description,
            explanation="One-off line",
            quantity=quantity,
            unit_price=price,
            tax_rate=rate,
            changed_by=actor,
        )
        _amounts(line, locked.currency)
        line.save()
        _retotal(locked)
    return line


def _rebill(line: InvoiceLine, units: Decimal) -> None:
    """What the draft bills for the line's days becomes `units` (a removed line: 0), so a
    later invoice adjusts from what was really billed."""
    if line.kind != LineKind.RECURRING or line.service_id is None:
        return
    claim = InvoiceContract.objects.get(invoice_id=line.invoice_id, contract_id=line.contract_id)
    billed = billed_from_json(claim.billed)
    for (service_id, period), steps in billed.items():
        if service_id == line.service_id and line.period_start in period:
            profile = from_steps(period, steps)
            for offset in range(
                (line.period_start - period.start).days, (line.period_end - period.start).days + 1
            ):
                profile[offset] = units
            billed[(service_id, period)] = to_steps(period, profile)
    claim.billed = billed_to_json(billed)
    claim.save(update_fields=["billed"])


def _draft_line(line: InvoiceLine) -> tuple[Invoice, InvoiceLine]:
    invoice = _locked_draft(line.invoice)
    line = InvoiceLine.objects.get(pk=line.pk)
    if line.removed:
        raise Conflict("This line is removed already.", code="line_removed")
    return invoice, line


def remove_line(*, line: InvoiceLine, actor, reason: str) -> InvoiceLine:
    reason = _reason(reason, what="removing the line")
    with transaction.atomic():
        invoice, line = _draft_line(line)
        line.removed = True
        line.removed_reason = reason
        line.changed_by = actor
        line.save(update_fields=["removed", "removed_reason", "changed_by"])
        _rebill(line, Decimal(0))
        _retotal(invoice)
    return line


def override_quantity(*, line: InvoiceLine, actor, quantity, note: str = "") -> InvoiceLine:
    """A recurring or one-off line's quantity set by a person; the rules' quantity is
    kept beside it (computed_quantity). An adjustment is the rules' arithmetic: remove
    it and add a one-off line instead."""
    quantity = _quantity(quantity)
    if quantity < 0:
        raise InvalidInput("Enter a quantity of 0 or more.", field="quantity")
    with transaction.atomic():
        invoice, line = _draft_line(line)
        if line.kind == LineKind.ADJUSTMENT:
            raise InvalidInput(
                "An adjustment's quantity comes from the unit history: remove it instead.",
                field="quantity",
            )
        if line.computed_quantity is None and line.kind == LineKind.RECURRING:
            line.computed_quantity = line.quantity
        line.quantity = quantity
        line.override_note = (note or "").strip()[:500]
        line.changed_by = actor
        _amounts(line, invoice.currency)
        line.save()
        _rebill(line, quantity)
        _retotal(invoice)
    return line


def _next_number(company: Company, year: int) -> str:
    """The next number of the company's sequence of `year`, its row locked until the
    caller's transaction ends (gapless: a rolled-back finalize gives its number back)."""
    if not InvoiceSequence.objects.filter(company=company, year=year).exists():
        previous = InvoiceSequence.objects.filter(company=company).order_by("-year").first()
        InvoiceSequence.objects.get_or_create(
            company=company,
            year=year,
            defaults={
                "prefix": previous.prefix if previous else settings.ICB_INVOICE_NUMBER_PREFIX
            },
        )
    sequence = InvoiceSequence.objects.select_for_update().get(company=company, year=year)
    sequence.last_number += 1
    sequence.save(update_fields=["last_number"])
    prefix = sequence.prefix.replace("{year}", str(year))
    return f"{prefix}{sequence.last_number:0{NUMBER_DIGITS}d}"


def _today(company: Company) -> datetime.date:
    return timezone.now().astimezone(company.zone).date()


def finalize(*, invoice: Invoice, actor) -> Invoice:
    """Number the draft (the company's next), date it today in the company's zone, due
    after its payment terms; from now on it is frozen."""
    with transaction.atomic():
        locked = _locked_draft(invoice)
        company = locked.company
        issued = _today(company)
        locked.number = _next_number(company, issued.year)
        locked.status = InvoiceStatus.FINAL
        locked.issue_date = issued
        locked.due_date = issued + datetime.timedelta(days=locked.payment_terms_days)
        locked.finalized_at = timezone.now()
        locked.finalized_by = actor
        locked.save()
    return locked


@dataclass
class Finalized:
    numbers: list[str]
    totals: dict[str, Decimal]  # per currency
    skipped: dict[int, str]


def finalize_many(*, invoices: list[Invoice], actor) -> Finalized:
    """Finalize each draft on its own (one refused does not stop the others)."""
    result = Finalized([], {}, {})
    for invoice in invoices:
        try:
            done = finalize(invoice=invoice, actor=actor)
        except Conflict as exc:
            result.skipped[invoice.pk] = exc.message
            continue
        result.numbers.append(done.number or "")
        result.totals[done.currency] = result.totals.get(done.currency, Decimal(0)) + done.total
    return result


def _release(invoice: Invoice) -> None:
    """The invoice's contract periods may be invoiced again (by the next run)."""
    InvoiceContract.objects.filter(invoice=invoice).update(active=False)


def _locked_final(invoice: Invoice) -> Invoice:
    locked = _locked(invoice)
    if locked.status != InvoiceStatus.FINAL:
        if locked.status == InvoiceStatus.DRAFT:
            raise Conflict(
                "Only a final invoice is corrected; change the draft instead.", code="invoice_draft"
            )
        raise _frozen(locked)
    if locked.credit_notes.exists():
        raise Conflict("This invoice has a credit note already.", code="invoice_credited")
    return locked


def void(*, invoice: Invoice, actor, reason: str) -> Invoice:
    """A final invoice cancelled: it keeps its number, its periods may be invoiced again."""
    reason = _reason(reason, what="voiding the invoice")
    with transaction.atomic():
        locked = _locked_final(invoice)
        if locked.kind == InvoiceKind.CREDIT_NOTE:
            raise Conflict(
                "A credit note is not voided; a new invoice bills the period again.",
                code="invoice_credit_note",
            )
        locked.status = InvoiceStatus.VOID
        locked.void_reason = reason
        locked.voided_at = timezone.now()
        locked.save(update_fields=["status", "void_reason", "voided_at"])
        _release(locked)
    return locked


def credit_note(*, invoice: Invoice, actor) -> Invoice:
    """A final credit note for the whole invoice: its own number, negative lines; the
    invoice's periods may be invoiced again."""
    with transaction.atomic():
        original = _locked_final(invoice)
        if original.kind == InvoiceKind.CREDIT_NOTE:
            raise Conflict("A credit note is not credited.", code="invoice_credit_note")
        issued = _today(original.company)
        note = Invoice.objects.create(
            company_id=original.company_id,
            account_id=original.account_id,
            kind=InvoiceKind.CREDIT_NOTE,
            credit_of=original,
            status=InvoiceStatus.FINAL,
            number=_next_number(original.company, issued.year),
            period_start=original.period_start,
            period_end=original.period_end,
            issue_date=issued,
            due_date=issued,
            payment_terms_days=0,
            currency=original.currency,
            subtotal=-original.subtotal,
            tax=-original.tax,
            total=-original.total,
            finalized_at=timezone.now(),
            finalized_by=actor,
        )
        lines = original.lines.filter(removed=False).order_by("position", "id")
        InvoiceLine.objects.bulk_create(
            [
                InvoiceLine(
                    company_id=line.company_id,
                    invoice=note,
                    position=line.position,
                    kind=line.kind,
                    description=line.description,
                    explanation=f"Credit of {original.number}: {line.explanation}"[:500],
                    quantity=-line.quantity,
                    unit_price=line.unit_price,
                    days=line.days,
                    period_days=line.period_days,
                    amount=-line.amount,
                    tax=-line.tax,
                    tax_rate=line.tax_rate,
                    period_start=line.period_start,
                    period_end=line.period_end,
                    service_id=line.service_id,
                    contract_id=line.contract_id,
                    unit_change_ids=line.unit_change_ids,
                )
                for line in lines
            ]
        )
        _release(original)
    return note
