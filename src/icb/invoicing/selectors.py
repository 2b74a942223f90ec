"""Reads of invoicing: its settings, and a contract's services as the billing rules take
them (docs/billing-rules.md)."""

from decimal import Decimal

from django.db.models import QuerySet

from icb.common.errors import NotFound
from icb.contracts.models import Contract, Service, ServiceUnitChange, UnitChangeSource
from icb.hub.models import Module
from icb.tenancy.models import Company

from .models import Invoice, InvoiceContract, InvoiceKind, InvoiceLine, InvoiceRun, InvoiceStatus
from .rules import BillingTerms, ServiceTimeline

CREATED = UnitChangeSource.CREATED


def billing_modules(*, company: Company) -> QuerySet[Module]:
    """The company's current modules, whose revenue account codes the settings page sets."""
    return Module.objects.for_company(company).filter(removed_at=None).order_by("name", "id")


def service_timeline(*, service: Service, company: Company) -> ServiceTimeline:
    """A service as the billing rules take it: its price, active dates and unit changes
    [(effective date, units)] in the order recorded (docs/billing-rules.md). The units
    it was created with hold from its start date, even when it was added later."""
    rows = (
        ServiceUnitChange.objects.for_company(company)
        .filter(service=service)
        .order_by("changed_at", "id")
        .values_list("source", "effective_date", "new_units")
    )
    return timeline_of(
        service_id=service.pk,
        name=service.name,
        unit_price=service.unit_price,
        start_date=service.start_date,
        end_date=service.end_date,
        rows=list(rows),
    )


def timeline_of(*, service_id, name, unit_price, start_date, end_date, rows) -> ServiceTimeline:
    """The timeline of a service from its unit history rows (source, effective date,
    units) in the order recorded; the run builder reads every service's rows at once."""
    created = [(start_date, units) for source, _, units in rows if source == CREATED]
    # A change effective before the service started counts from its start (after the
    # creation units, so it wins on that day).
    later = [(max(day, start_date), units) for source, day, units in rows if source != CREATED]
    return ServiceTimeline(
        service_id=service_id,
        name=name,
        unit_price=unit_price,
        start_date=start_date,
        end_date=end_date,
        changes=created + later,
    )


def billing_terms(*, contract: Contract, company: Company) -> BillingTerms:
    """The contract's billing settings in effect, as the billing rules take them."""
    in_effect = contract.billing_in_effect(company)
    return BillingTerms(
        frequency=contract.billing_frequency,
        timing=in_effect["billing_timing"],
        proration=in_effect["proration"],
        contract_start=contract.start_date,
        contract_end=contract.end_date,
        currency=contract.currency,
        tax_rate=contract.account.tax_rate_in_effect(company),
    )


# --- runs and invoices -------------------------------------------------------------------


def run_get(*, company: Company, run_id: int) -> InvoiceRun:
    run = InvoiceRun.objects.for_company(company).filter(pk=run_id).first()
    if run is None:
        raise NotFound("No such invoice run.")
    return run


def runs_recent(*, company: Company, limit: int = 24) -> list[InvoiceRun]:
    return list(InvoiceRun.objects.for_company(company).order_by("-period_start")[:limit])


def invoice_list(
    *,
    company: Company,
    run_id: int | None = None,
    account_id: int | None = None,
    status: str | None = None,
) -> QuerySet[Invoice]:
    invoices = Invoice.objects.for_company(company).select_related("account")
    if run_id is not None:
        invoices = invoices.filter(run_id=run_id)
    if account_id is not None:
        invoices = invoices.filter(account_id=account_id)
    if status:
        invoices = invoices.filter(status=status)
    return invoices.order_by("account__name", "currency", "id")


def with_details(invoices) -> list[Invoice]:
    """The invoices with their lines and contract ids (`contract_ids`), in three queries."""
    invoices = list(invoices)
    by_id = {invoice.pk: invoice for invoice in invoices}
    for invoice in invoices:
        invoice.contract_ids = []
        invoice.line_list = []
    for invoice_id, contract_id in (
        InvoiceContract.objects.filter(invoice_id__in=by_id)
        .order_by("contract_id")
        .values_list("invoice_id", "contract_id")
    ):
        by_id[invoice_id].contract_ids.append(contract_id)
    for line in InvoiceLine.objects.filter(invoice_id__in=by_id).order_by("position", "id"):
        by_id[line.invoice_id].line_list.append(line)
    return invoices


def invoice_get(*, company: Company, invoice_id: int) -> Invoice:
    invoice = (
        Invoice.objects.for_company(company)
        .select_related("account", "run", "credit_of")
        .filter(pk=invoice_id)
        .first()
    )
    if invoice is None:
        raise NotFound("No such invoice.")
    return with_details([invoice])[0]


def line_get(*, company: Company, invoice: Invoice, line_id: int) -> InvoiceLine:
    line = InvoiceLine.objects.for_company(company).filter(invoice=invoice, pk=line_id).first()
    if line is None:
        raise NotFound("No such line on this invoice.")
    line.invoice = invoice
    return line


def previous_totals(*, company: Company, invoices: list[Invoice]) -> dict[int, Decimal]:
    """Per invoice, the total of the account's latest final invoice (same currency) of an
    earlier period: what the drafts list compares against (one query)."""
    accounts = {invoice.account_id for invoice in invoices}
    finals: dict[tuple[int, str], list[tuple]] = {}
    for account_id, currency, start, total in (
        Invoice.objects.for_company(company)
        .filter(account_id__in=accounts, status=InvoiceStatus.FINAL, kind=InvoiceKind.INVOICE)
        .order_by("period_start", "id")
        .values_list("account_id", "currency", "period_start", "total")
    ):
        finals.setdefault((account_id, currency), []).append((start, total))
    previous = {}
    for invoice in invoices:
        earlier = [
            total
            for start, total in finals.get((invoice.account_id, invoice.currency), [])
            if start < invoice.period_start
        ]
        if earlier:
            previous[invoice.pk] = earlier[-1]
    return previous


# A draft whose total moved more than this against the account's previous invoice is
# flagged on the drafts list (docs/billing-rules.md, "Drafts").
CHANGE_FLAG_PERCENT = Decimal(20)


def with_changes(*, company: Company, invoices: list[Invoice]) -> list[Invoice]:
    """The invoices with `previous_total`, `change_percent` (None without a previous
    invoice or from 0) and `flagged` set, for the drafts list."""
    previous = previous_totals(company=company, invoices=invoices)
    for invoice in invoices:
        before = previous.get(invoice.pk)
        invoice.previous_total = before
        invoice.change_percent = None
        if before:
            invoice.change_percent = ((invoice.total - before) * 100 / abs(before)).quantize(
                Decimal("0.1")
            )
        invoice.flagged = invoice.change_percent is not None and (
            abs(invoice.change_percent) > CHANGE_FLAG_PERCENT
        )
    return invoices


def credit_notes_of(*, invoice: Invoice) -> list[Invoice]:
    return list(Invoice.objects.for_company(invoice.company_id).filter(credit_of=invoice))
