"""The nightly digest: what a company's night brought, composed from its sync runs and
from the outbox's events, and mailed to the users who asked for it.

When: a company's night is finished when a nightly run of it has finished and none of
its runs is still open (every group task written). The beat task `notify.send_digests`
looks every few minutes; a digest is made once per company and night (its local date
of the nightly run), covering everything since the previous digest: the nightly and
retry runs finished meanwhile (manual syncs are a person's, who saw their result) and
the events `change.held` and `organization.unmapped` recorded meanwhile. Nothing is
mailed when nothing happened."""

from __future__ import annotations

import heapq
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from icb.billing_sync.models import ItemStatus, SyncRun, SyncRunItem, SyncTrigger
from icb.common.money import format_money, to_cents
from icb.contracts.models import ServiceUnitChange, SyncStatus
from icb.events.selectors import events_between
from icb.events.types import CHANGE_HELD, ORGANIZATION_UNMAPPED
from icb.tenancy.models import Company

from .models import Digest
from .selectors import digest_recipients

log = logging.getLogger(__name__)

LISTED = 20  # lines listed per section; the counts and totals cover all
# A nightly run older than this is history, not tonight's news (e.g. on the first start).
RECENT = timedelta(hours=24)


@dataclass
class Totals:
    """Money per currency (a company's contracts may bill in several)."""

    amounts: dict[str, Decimal] = field(default_factory=dict)

    def add(self, currency: str, amount: Decimal) -> None:
        self.amounts[currency] = self.amounts.get(currency, Decimal(0)) + amount

    def shown(self) -> str:
        return ", ".join(format_money(a, c) for c, a in sorted(self.amounts.items())) or "—"


@dataclass
class ChangeLine:
    account: str
    contract: str
    service: str
    old_units: Decimal | None
    new_units: Decimal
    monthly_impact: Decimal
    currency: str


@dataclass
class FailureLine:
    account: str
    contract: str
    service: str
    message: str


@dataclass
class EventLine:
    name: str
    detail: str
    amount: Decimal | None
    currency: str


@dataclass
class Content:
    company: Company
    night: date
    covered_from: datetime
    covered_until: datetime
    runs: list[SyncRun]
    changes_count: int = 0
    increases: Totals = field(default_factory=Totals)
    decreases: Totals = field(default_factory=Totals)
    changes: list[ChangeLine] = field(default_factory=list)
    failures_count: int = 0
    failures: list[FailureLine] = field(default_factory=list)
    run_errors: list[str] = field(default_factory=list)
    held_count: int = 0
    held_impact: Totals = field(default_factory=Totals)
    held: list[EventLine] = field(default_factory=list)
    unmapped_count: int = 0
    unmapped_revenue: Totals = field(default_factory=Totals)
    unmapped: list[EventLine] = field(default_factory=list)

    @property
    def happened(self) -> bool:
        return bool(
            self.changes_count or self.failures_count or self.held_count or self.unmapped_count
        )

    def summary(self) -> dict:
        return {
            "runs": [r.pk for r in self.runs],
            "changed": self.changes_count,
            "failed": self.failures_count,
            "held": self.held_count,
            "unmapped": self.unmapped_count,
        }


def _decimal(value) -> Decimal | None:
    try:
        return Decimal(str(value)) if value is not None else None
    except InvalidOperation:
        return None


def compose(
    *, company: Company, night: date, covered_from: datetime, covered_until: datetime
) -> Content:
    runs = list(
        SyncRun.objects.for_company(company)
        .filter(
            trigger__in=[SyncTrigger.NIGHTLY, SyncTrigger.RETRY],
            finished_at__gt=covered_from,
            finished_at__lte=covered_until,
        )
        .order_by("started_at")
    )
    content = Content(company, night, covered_from, covered_until, runs)
    run_ids = [r.pk for r in runs]
    _changes(content, run_ids)
    _failures(content, run_ids)
    _held(content)
    _unmapped(content)
    return content


def _changes(content: Content, run_ids: list[int]) -> None:
    """Every unit change the runs applied, valued as Δ units × unit price per month."""
    rows = (
        ServiceUnitChange.objects.for_company(content.company)
        .filter(sync_run_id__in=run_ids)
        .values_list(
            "pk", "old_units", "new_units", "service__unit_price", "service__contract__currency"
        )
    )
    impacts = []
    for pk, old, new, price, currency in rows.iterator(chunk_size=2000):
        impact = to_cents((new - (old or 0)) * price)
        (content.increases if impact >= 0 else content.decreases).add(currency, impact)
        impacts.append((abs(impact), pk, impact))
        content.changes_count += 1
    top = heapq.nlargest(LISTED, impacts)
    changes = {
        c.pk: c
        for c in ServiceUnitChange.objects.for_company(content.company)
        .filter(pk__in=[pk for _, pk, _ in top])
        .select_related("service__contract__account")
    }
    for _, pk, impact in top:
        change = changes[pk]
        contract = change.service.contract
        content.changes.append(
            ChangeLine(
                contract.account.name,
                contract.name,
                change.service.name,
                change.old_units,
                change.new_units,
                impact,
                contract.currency,
            )
        )


def _failures(content: Content, run_ids: list[int]) -> None:
    """Services that failed in the runs and are failing still (a later retry that
    succeeded is not news); the runs' own errors (the hub down…) once each."""
    items = (
        SyncRunItem.objects.for_company(content.company)
        .filter(run_id__in=run_ids, status=ItemStatus.ERROR, service__icb_status=SyncStatus.ERROR)
        .select_related("service__contract__account")
        .order_by("service_id", "-id")
    )
    seen: set[int] = set()
    for item in items:
        if item.service_id in seen:
            continue
        seen.add(item.service_id)
        if len(content.failures) < LISTED:
            contract = item.service.contract
            content.failures.append(
                FailureLine(contract.account.name, contract.name, item.service.name, item.message)
            )
    content.failures_count = len(seen)
    messages = [e.get("message", "") for run in content.runs for e in (run.errors or [])]
    content.run_errors = [m for m in dict.fromkeys(messages) if m][:LISTED]


def _latest_payloads(content: Content, event_type: str, key) -> list[dict]:
    """The payloads of the window's events of a type, the latest per subject."""
    latest: dict = {}
    for event in events_between(
        company=content.company,
        types=[event_type],
        after=content.covered_from,
        until=content.covered_until,
    ):
        latest[key(event.payload)] = event.payload
    return list(latest.values())


def _held(content: Content) -> None:
    """`change.held` events (docs/webhooks.md): one per held change, its monthly impact."""
    payloads = _latest_payloads(content, CHANGE_HELD, lambda p: p.get("held_change_id"))
    content.held_count = len(payloads)
    for p in payloads:
        impact = _decimal(p.get("monthly_impact"))
        currency = str(p.get("currency") or content.company.currency)
        if impact is not None:
            content.held_impact.add(currency, impact)
    payloads.sort(key=lambda p: abs(_decimal(p.get("monthly_impact")) or Decimal(0)), reverse=True)
    for p in payloads[:LISTED]:
        content.held.append(
            EventLine(
                str(p.get("service_name") or f"Service {p.get('service_id')}"),
                f"{p.get('current_units')} → {p.get('proposed_units')} ({p.get('rule', '')})",
                _decimal(p.get("monthly_impact")),
                str(p.get("currency") or content.company.currency),
            )
        )


def _unmapped(content: Content) -> None:
    """`organization.unmapped` events: one per module and organization, with the revenue
    it would bring at the company's usual price."""
    payloads = _latest_payloads(
        content, ORGANIZATION_UNMAPPED, lambda p: (p.get("module"), p.get("organization_id"))
    )
    content.unmapped_count = len(payloads)
    for p in payloads:
        revenue = _decimal(p.get("estimated_monthly_revenue"))
        currency = str(p.get("currency") or content.company.currency)
        if revenue is not None:
            content.unmapped_revenue.add(currency, revenue)
    payloads.sort(
        key=lambda p: _decimal(p.get("estimated_monthly_revenue")) or Decimal(0), reverse=True
    )
    for p in payloads[:LISTED]:
        content.unmapped.append(
            EventLine(
                str(p.get("name") or p.get("organization_id")),
                str(p.get("module", "")),
                _decimal(p.get("estimated_monthly_revenue")),
                str(p.get("currency") or content.company.currency),
            )
        )


def subject(content: Content) -> str:
    parts = [
        f"{content.changes_count} changed" if content.changes_count else "",
        f"{content.held_count} held for review" if content.held_count else "",
        f"{content.failures_count} failed" if content.failures_count else "",
        f"{content.unmapped_count} new unmapped" if content.unmapped_count else "",
    ]
    summary = ", ".join(p for p in parts if p)
    return f"ICB nightly sync, {content.company.name}, {content.night:%a %d %b %Y}: {summary}"


def render(content: Content) -> tuple[str, str, str]:
    """Subject, plain text and HTML, with times in the company's zone."""
    context = {
        "c": content,
        "link": settings.ICB_PUBLIC_URL.rstrip("/"),
    }
    with timezone.override(content.company.zone):
        text = render_to_string("notify/digest.txt", context)
        html = render_to_string("notify/digest.html", context)
    return subject(content), text, html


def nights_due(*, now: datetime) -> list[tuple[Company, SyncRun]]:
    """The companies whose night is finished and has no digest yet, each with its
    latest nightly run."""
    latest: dict[int, SyncRun] = {}
    for run in (
        SyncRun.objects.filter(
            trigger=SyncTrigger.NIGHTLY, finished_at__isnull=False, finished_at__gt=now - RECENT
        )
        .select_related("company")
        .order_by("started_at")
    ):
        latest[run.company_id] = run
    open_runs = set(
        SyncRun.objects.filter(company_id__in=list(latest), finished_at__isnull=True).values_list(
            "company_id", flat=True
        )
    )
    due = []
    for company_id, run in latest.items():
        if company_id in open_runs:
            continue
        if Digest.objects.filter(company_id=company_id, night=_night(run)).exists():
            continue
        due.append((run.company, run))
    return due


def _night(run: SyncRun) -> date:
    return timezone.localtime(run.started_at, run.company.zone).date()


def send_digest(*, company: Company, run: SyncRun, now: datetime) -> Digest | None:
    """Make the digest of the night of `run` (once: None if it exists) and mail it to
    the recipients if anything happened."""
    night = _night(run)
    previous = Digest.objects.for_company(company).order_by("-covered_until").first()
    covered_from = previous.covered_until if previous else run.started_at - RECENT
    try:
        with transaction.atomic():
            digest = Digest.objects.create(
                company=company, night=night, covered_from=covered_from, covered_until=now
            )
    except IntegrityError:
        return None  # another worker made it
    content = compose(company=company, night=night, covered_from=covered_from, covered_until=now)
    digest.summary = content.summary()
    recipients = list(digest_recipients(company=company)) if content.happened else []
    if recipients:
        title, text, html = render(content)
        messages = []
        for user in recipients:  # one message each: nobody sees the others' addresses
            message = EmailMultiAlternatives(title, text, to=[user.email])
            message.attach_alternative(html, "text/html")
            messages.append(message)
        try:
            digest.recipients = get_connection().send_messages(messages) or 0
        except Exception as exc:  # the mail server down: recorded, and logged once
            digest.error = f"Could not send: {type(exc).__name__}: {exc}"[:500]
            log.warning("Digest of company %s, %s: %s", company.pk, night, digest.error)
    digest.save(update_fields=["summary", "recipients", "error"])
    log.info(
        "Digest of company %s for %s: %s; mailed to %d",
        company.pk,
        night,
        digest.summary,
        digest.recipients,
    )
    return digest


def send_due_digests(*, now: datetime | None = None) -> int:
    """The beat task's work: a digest for every company whose night is finished."""
    now = now or timezone.now()
    made = 0
    for company, run in nights_due(now=now):
        if send_digest(company=company, run=run, now=now) is not None:
            made += 1
    return made
