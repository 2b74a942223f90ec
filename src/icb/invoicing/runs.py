"""Invoice runs: start one for a period, and build its drafts (the Celery task calls
build_run). Set-based: the due contracts' services, unit history and earlier invoices'
records are read in three queries per 2,000 contracts, the rules run in memory, and
the drafts are bulk-inserted in one transaction (docs/billing-rules.md, "Invoice
runs")."""

import datetime
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from icb.common.errors import InvalidInput
from icb.contracts.models import Contract, ContractStatus, Service, ServiceUnitChange
from icb.tenancy.models import Company

from .inputs import billed_to_json, inputs_to_json, invoiced_from_billed
from .models import (
    Invoice,
    InvoiceContract,
    InvoiceLine,
    InvoiceRun,
    InvoiceStatus,
    LineKind,
    RunStatus,
)
from .periods import Period, next_period, period_containing
from .rules import ARREARS, BillingTerms, Line, RuleError, compute_invoice
from .selectors import CREATED, timeline_of

log = logging.getLogger(__name__)

CHUNK = 2000  # contracts read and computed at a time; the progress is written after each
INSERT_BATCH = 2000
# A run still "running" after this long is taken as lost (a worker stopped): starting
# its period again rebuilds it.
STALE_AFTER = datetime.timedelta(minutes=15)
RULE_KINDS = {"period": LineKind.RECURRING, "stretch": LineKind.RECURRING}


FIRST_YEAR, LAST_YEAR = 2000, 2999


def month_of(day: datetime.date) -> Period:
    """The calendar month starting on `day` (a first of a month)."""
    return next_period(Period(day, day - datetime.timedelta(days=1)), frequency="monthly")


def start_run(*, company: Company, actor, period_start: datetime.date) -> tuple[InvoiceRun, bool]:
    """The company's run of the month starting `period_start`, created or set running
    again, and whether it was (the caller then enqueues build_run once committed). A run
    already running, and not stale, is answered as it is."""
    if period_start.day != 1:
        raise InvalidInput("A billing period starts on the first of a month.", field="period_start")
    if not FIRST_YEAR <= period_start.year <= LAST_YEAR:
        raise InvalidInput(f"Pick a month from {FIRST_YEAR} to {LAST_YEAR}.", field="period_start")
    month = month_of(period_start)
    with transaction.atomic():
        run, created = InvoiceRun.objects.get_or_create(
            company=company,
            period_start=month.start,
            defaults={"period_end": month.end, "started_by": actor},
        )
        if created:
            return run, True
        run = InvoiceRun.objects.select_for_update().get(pk=run.pk)
        now = timezone.now()
        if run.status == RunStatus.RUNNING and now - run.started_at < STALE_AFTER:
            return run, False
        run.status = RunStatus.RUNNING
        run.progress_done = run.progress_total = 0
        run.message = ""
        run.started_by = actor
        run.started_at = now
        run.finished_at = None
        run.save()
    return run, True


@dataclass
class Draft:
    """One account's invoice in one currency, as built in memory."""

    account_id: int
    currency: str
    period: Period
    payment_terms_days: int
    lines: list[InvoiceLine] = field(default_factory=list)
    claims: list[InvoiceContract] = field(default_factory=list)


def _due_contracts(company: Company, period_start: datetime.date):
    year_later = period_start + datetime.timedelta(days=366)
    return (
        Contract.objects.for_company(company)
        .filter(status=ContractStatus.ACTIVE, start_date__lt=year_later)
        .exclude(end_date__lt=period_start)
    )


def _change_ids(line: Line, changes: list[tuple[int, datetime.date]]) -> list[int]:
    """The unit changes behind a line: the one in force on its first day, and those
    taking effect within its days (an adjustment: those of its first day)."""
    in_force = [pk for pk, day in changes if day <= line.start]
    last = line.start if line.kind == "adjustment" else line.end
    within = [pk for pk, day in changes if line.start < day <= last]
    return in_force[-1:] + within


def _due(company: Company, run: InvoiceRun, today: datetime.date) -> dict[int, tuple]:
    """{contract id: (contract, terms, period)} of the contracts with a period starting
    on the run's first day (in arrears: ended by `today`)."""
    due = {}
    for contract in _due_contracts(company, run.period_start).select_related("account"):
        period = period_containing(
            frequency=contract.billing_frequency,
            contract_start=contract.start_date,
            day=run.period_start,
        )
        if period.start != run.period_start or contract.start_date > period.end:
            continue
        terms = BillingTerms(
            frequency=contract.billing_frequency,
            timing=contract.billing_timing or company.billing_timing,
            proration=contract.proration or company.proration,
            contract_start=contract.start_date,
            contract_end=contract.end_date,
            currency=contract.currency,
            tax_rate=contract.account.tax_rate_in_effect(company),
        )
        if terms.timing == ARREARS and today <= period.end:
            continue  # an arrears period is invoiced once it has ended
        due[contract.pk] = (contract, terms, period)
    return due


def _inputs(company: Company, run: InvoiceRun, contract_ids: list[int]):
    """The services, unit history and earlier final records of some contracts, in three
    queries; and those whose period of the run is on a final invoice already."""
    services: dict[int, list[dict]] = defaultdict(list)
    for row in (
        Service.objects.for_company(company)
        .filter(contract_id__in=contract_ids)
        .order_by("id")
        .values("id", "contract_id", "name", "unit_price", "start_date", "end_date")
    ):
        services[row["contract_id"]].append(row)
    history: dict[int, list] = defaultdict(list)
    for row in (
        ServiceUnitChange.objects.for_company(company)
        .filter(service__contract_id__in=contract_ids)
        .order_by("service_id", "changed_at", "id")
        .values_list("service_id", "id", "source", "effective_date", "new_units")
    ):
        history[row[0]].append(row[1:])
    claims: dict[int, list] = defaultdict(list)
    taken = set()
    for contract_id, start, billed, status in (
        InvoiceContract.objects.for_company(company)
        .filter(contract_id__in=contract_ids, active=True)
        .order_by("period_start", "id")
        .values_list("contract_id", "period_start", "billed", "invoice__status")
    ):
        if start == run.period_start:
            if status != InvoiceStatus.DRAFT:
                taken.add(contract_id)
        elif status == InvoiceStatus.FINAL and start < run.period_start:
            claims[contract_id].append(billed)
    return services, history, claims, taken


def _contract_lines(contract, terms, period, rows, history, claims, today, skipped):
    timelines, change_days = [], {}
    for row in rows:
        changes = history.get(row["id"], [])
        timelines.append(
            timeline_of(
                service_id=row["id"],
                name=row["name"],
                unit_price=row["unit_price"],
                start_date=row["start_date"],
                end_date=row["end_date"],
                rows=[change[1:] for change in changes],
            )
        )
        start = row["start_date"]
        # In the timeline's order: the creation row first, then by effective day.
        created = [(pk, start) for pk, source, _, _ in changes if source == CREATED]
        later = [(pk, max(day, start)) for pk, source, day, _ in changes if source != CREATED]
        change_days[row["id"]] = created + sorted(later, key=lambda change: change[1])
    invoiced = invoiced_from_billed(claims.get(contract.pk, []))
    try:
        figures = compute_invoice(
            terms=terms, period=period, services=timelines, invoiced=invoiced, today=today
        )
    except RuleError as exc:
        skipped.append(f"{contract.name}: {exc}")
        return None
    lines = [
        InvoiceLine(
            company_id=contract.company_id,
            kind=RULE_KINDS.get(line.kind, LineKind.ADJUSTMENT),
            description=line.description,
            explanation=line.explanation[:500],
            quantity=line.quantity,
            unit_price=line.unit_price,
            days=line.days,
            period_days=line.days_in_period,
            amount=line.amount,
            tax=line.tax,
            tax_rate=terms.tax_rate,
            period_start=line.start,
            period_end=line.end,
            service_id=line.service_id,
            contract_id=contract.pk,
            unit_change_ids=_change_ids(line, change_days[line.service_id]),
        )
        for line in figures.lines
    ]
    claim = InvoiceContract(
        company_id=contract.company_id,
        contract_id=contract.pk,
        period_start=period.start,
        period_end=period.end,
        inputs=inputs_to_json(
            terms=terms, period=period, services=timelines, invoiced=invoiced, today=today
        ),
        billed=billed_to_json(figures.billed),
    )
    return lines, claim


def _compute(company: Company, run: InvoiceRun, today: datetime.date):
    """The drafts in memory, the due contracts read CHUNK at a time (memory stays flat
    whatever the history's size)."""
    due = _due(company, run, today)
    ids = sorted(due)
    InvoiceRun.objects.filter(pk=run.pk).update(progress_total=len(ids), progress_done=0)
    drafts: dict[tuple[int, str], Draft] = {}
    skipped: list[str] = []
    for first in range(0, len(ids), CHUNK):
        chunk = ids[first : first + CHUNK]
        services, history, claims, taken = _inputs(company, run, chunk)
        for contract_id in chunk:
            if contract_id in taken:
                continue
            contract, terms, period = due[contract_id]
            built = _contract_lines(
                contract, terms, period, services[contract_id], history, claims, today, skipped
            )
            if built is None:
                continue
            lines, claim = built
            own_terms = contract.payment_terms_days
            terms_days = company.payment_terms_days if own_terms is None else own_terms
            key = (contract.account_id, contract.currency)
            draft = drafts.get(key)
            if draft is None:
                draft = drafts[key] = Draft(
                    contract.account_id, contract.currency, period, terms_days
                )
            draft.period = Period(draft.period.start, max(draft.period.end, period.end))
            draft.payment_terms_days = min(draft.payment_terms_days, terms_days)
            draft.lines.extend(lines)
            draft.claims.append(claim)
        InvoiceRun.objects.filter(pk=run.pk).update(progress_done=first + len(chunk))
    return list(drafts.values()), skipped


def _write(run: InvoiceRun, drafts: list[Draft], skipped: list[str]) -> None:
    with transaction.atomic():
        run = InvoiceRun.objects.select_for_update().get(pk=run.pk)
        stale = Invoice.objects.filter(run=run, status=InvoiceStatus.DRAFT)
        InvoiceLine.objects.filter(invoice__in=stale).delete()
        InvoiceContract.objects.filter(invoice__in=stale).delete()
        stale.delete()
        # Contracts finalized meanwhile (or by a build that ran at the same time) keep theirs.
        taken = set(
            InvoiceContract.objects.for_company(run.company_id)
            .filter(period_start=run.period_start, active=True)
            .values_list("contract_id", flat=True)
        )
        kept = []
        for draft in drafts:
            draft.claims = [c for c in draft.claims if c.contract_id not in taken]
            contracts = {c.contract_id for c in draft.claims}
            draft.lines = [line for line in draft.lines if line.contract_id in contracts]
            if draft.claims:
                kept.append(draft)
        invoices = Invoice.objects.bulk_create(
            [
                Invoice(
                    company_id=run.company_id,
                    account_id=draft.account_id,
                    run=run,
                    currency=draft.currency,
                    period_start=draft.period.start,
                    period_end=draft.period.end,
                    payment_terms_days=draft.payment_terms_days,
                    subtotal=sum((line.amount for line in draft.lines), Decimal(0)),
                    tax=sum((line.tax for line in draft.lines), Decimal(0)),
                    total=sum((line.amount + line.tax for line in draft.lines), Decimal(0)),
                )
                for draft in kept
            ],
            batch_size=INSERT_BATCH,
        )
        lines, claims = [], []
        for invoice, draft in zip(invoices, kept, strict=True):
            for position, line in enumerate(draft.lines):
                line.invoice_id = invoice.pk
                line.position = position
                lines.append(line)
            for claim in draft.claims:
                claim.invoice_id = invoice.pk
                claims.append(claim)
        InvoiceLine.objects.bulk_create(lines, batch_size=INSERT_BATCH)
        InvoiceContract.objects.bulk_create(claims, batch_size=INSERT_BATCH)
        message = ""
        if skipped:
            message = f"{len(skipped)} contract(s) not invoiced: " + "; ".join(skipped)
        InvoiceRun.objects.filter(pk=run.pk).update(
            status=RunStatus.DONE,
            progress_done=run.progress_total,
            message=message[:500],
            finished_at=timezone.now(),
        )


def build_run(run_id: int, *, today: datetime.date | None = None) -> None:
    """Build (or rebuild) the run's drafts from current data. A contract whose period is
    on a final invoice is left alone; a failure marks the run failed."""
    run = InvoiceRun.objects.select_related("company").get(pk=run_id)
    company = run.company
    today = today or timezone.now().astimezone(company.zone).date()
    try:
        drafts, skipped = _compute(company, run, today)
        _write(run, drafts, skipped)
    except Exception:
        # Recorded on the run (the page and the API show it), logged with its traceback;
        # not raised again, so a task run in the web request (eager) is no error page.
        log.exception("invoice run %s failed", run_id)
        InvoiceRun.objects.filter(pk=run_id).update(
            status=RunStatus.FAILED,
            message="The run failed; start it again. The error is in the worker's log.",
            finished_at=timezone.now(),
        )
