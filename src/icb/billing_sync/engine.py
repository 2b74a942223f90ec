"""The sync engine: the dispatcher that claims due ICB services, and the group tasks that
compute and write their units. Set-based on purpose: a batch (one company, one module,
at most BATCH_SIZE services) costs a few queries and one bulk usage read from the hub,
whatever its size. A manual sync is the same code with a batch of one.

    dispatch_due(now)            claim due services in batches, one SyncRun per company,
                                 one group task per (company, module) and up to
                                 BATCHES_PER_JOB batches: (run id, the batches)
    sync_batches(run, batches)   per batch: read mappings and usage, compute in memory,
                                 write the services that still hold the batch's claim in
                                 one transaction (reading the next batch's usage meanwhile)

Units only ever change to a sum computed from a complete, validated hub answer; any
failure keeps them, records the error on the service and the run, and schedules a
retry with back-off.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import partial

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from icb.common.money import CENT
from icb.contracts.models import (
    BillingMode,
    Service,
    ServiceUnitChange,
    SyncStatus,
    UnitChangeSource,
)
from icb.contracts.services import DECIMAL_PLACES, MAX_DIGITS
from icb.hub import services as hub_services
from icb.hub.client import HubClient, HubError, UsageResult
from icb.mapping.models import Mapping
from icb.tenancy.models import Company, User

from .models import ItemStatus, SyncRun, SyncRunItem, SyncTrigger
from .scheduling import next_midnight, retry_at

log = logging.getLogger(__name__)

CLAIM_TTL = timedelta(minutes=30)
BATCH_SIZE = 2000
# A group task syncs up to this many batches, reading the hub for the next batch while
# it writes the current one; more services per company and module make more tasks.
BATCHES_PER_JOB = 5
# Units are DECIMAL(12, 2): anything at or above 10^10 cannot be stored.
UNITS_LIMIT = Decimal(10) ** (MAX_DIGITS - DECIMAL_PLACES)
MAPPING_INCOMPLETE_MESSAGE = "Mapping Settings Incomplete"


@dataclass
class Batch:
    """At most BATCH_SIZE services of one company and module with consecutive ids,
    claimed with their own token."""

    claim_token: str
    module_id: int | None
    first_id: int
    last_id: int
    service_ids: list[int] = field(default_factory=list)  # as planned; not sent

    def as_message(self) -> list:
        return [self.claim_token, self.module_id, self.first_id, self.last_id]

    @classmethod
    def from_message(cls, message: list) -> Batch:
        claim_token, module_id, first_id, last_id = message
        return cls(
            str(claim_token),
            None if module_id is None else int(module_id),
            int(first_id),
            int(last_id),
        )

    def services(self, company_id: int) -> QuerySet[Service]:
        """The batch's services that still hold its claim. The database finds them by the
        module index within the id range; the token itself is not indexed (such an index
        would be rewritten twice per service and night, at claim and at release)."""
        module = (
            Q(icb_module__isnull=True)
            if self.module_id is None
            else Q(icb_module_id=self.module_id)
        )
        return Service.objects.filter(
            module,
            company_id=company_id,
            pk__range=(self.first_id, self.last_id),
            sync_claim_token=self.claim_token,
            billing_mode=BillingMode.ICB,
        )


@dataclass
class Job:
    """One group task: consecutive batches of one company and module."""

    run_id: int
    batches: list[Batch]

    @property
    def service_ids(self) -> list[int]:
        return [i for batch in self.batches for i in batch.service_ids]


@dataclass
class Outcome:
    status: str  # SyncStatus.OK, MAPPING_INCOMPLETE or ERROR
    units: Decimal | None = None
    message: str = ""
    retry_after: float | None = None
    # OK only: which organizations made the number, for the history row of a change.
    # Kept as references into the group's usage; the row's JSON is built only when the
    # units really change (most nights, most services do not).
    module_code: str = ""
    billing_type: str = ""
    organization_ids: list[str] = field(default_factory=list)
    quantities: list[Decimal] = field(default_factory=list)  # one per organization
    usage: UsageResult | None = None

    def detail(self, isoformat=datetime.isoformat) -> dict:
        key = self.billing_type
        measured = self.usage.measured_at if self.usage else {}
        return {
            "module": self.module_code,
            "billing_type": key,
            "quantities": dict(zip(self.organization_ids, map(str, self.quantities), strict=True)),
            "measured_at": {
                o: isoformat(measured[(o, key)])
                for o in self.organization_ids
                if (o, key) in measured
            },
        }


def new_token() -> str:
    return uuid.uuid4().hex


# --- the dispatcher ---------------------------------------------------------------------


def _due(now: datetime) -> Q:
    return Q(billing_mode=BillingMode.ICB, next_sync_at__lte=now) & (
        Q(sync_claimed_until__isnull=True) | Q(sync_claimed_until__lt=now)
    )


def dispatch_due(now: datetime | None = None, *, enqueue: bool = True) -> list[Job]:
    """Claim every due ICB service and hand the claimed services to group tasks: per
    (company, module), batches of at most BATCH_SIZE, at most BATCHES_PER_JOB batches
    per task. Each batch is claimed with one conditional UPDATE that repeats the due
    condition, so a service claimed meanwhile by another dispatcher (and not expired) is
    never claimed twice. Overdue services (after downtime) are simply due. With
    `enqueue`, each job is sent to a worker; the jobs are returned either way."""
    now = now or timezone.now()
    due = (
        Service.objects.filter(_due(now))
        .order_by("company_id", "icb_module_id", "id")
        .values_list("id", "company_id", "icb_module_id", "sync_retry_count")
    )
    groups: dict[int, dict[int | None, list[int]]] = defaultdict(lambda: defaultdict(list))
    retrying: dict[int, bool] = {}
    for service_id, company_id, module_id, retries in due:
        groups[company_id][module_id].append(service_id)
        retrying[company_id] = retrying.get(company_id, True) and retries > 0
    jobs: list[Job] = []
    for company_id, modules in groups.items():
        claimed: dict[int | None, list[Batch]] = {}
        for module_id, ids in modules.items():
            batches = [
                _claim(now, company_id, module_id, ids[i : i + BATCH_SIZE])
                for i in range(0, len(ids), BATCH_SIZE)
            ]
            claimed[module_id] = [batch for batch in batches if batch]
        total = sum(len(batches) for batches in claimed.values())
        if not total:
            continue
        run = SyncRun.objects.create(
            company_id=company_id,
            started_at=now,
            groups_total=total,
            trigger=SyncTrigger.RETRY if retrying[company_id] else SyncTrigger.NIGHTLY,
        )
        jobs += [
            Job(run.pk, batches[i : i + BATCHES_PER_JOB])
            for batches in claimed.values()
            for i in range(0, len(batches), BATCHES_PER_JOB)
        ]
    if enqueue:
        from .tasks import sync_group_task

        for job in jobs:
            sync_group_task.delay(job.run_id, [batch.as_message() for batch in job.batches])
    return jobs


def _claim(now: datetime, company_id: int, module_id: int | None, ids: list[int]) -> Batch | None:
    """Claim one batch with its own token. Its services are consecutive ids of one
    company and module, so the id range with those two selects them (the database walks
    the module index within the range; no list of ids to prepare and send)."""
    batch = Batch(new_token(), module_id, ids[0], ids[-1], ids)
    module = Q(icb_module__isnull=True) if module_id is None else Q(icb_module_id=module_id)
    taken = Service.objects.filter(
        _due(now), module, company_id=company_id, pk__range=(ids[0], ids[-1])
    ).update(sync_claim_token=batch.claim_token, sync_claimed_until=now + CLAIM_TTL)
    return batch if taken else None


# --- the group sync -----------------------------------------------------------------------


def open_hub(company: Company) -> HubClient:
    """The hub client of one group task (opening it may refresh the token)."""
    return hub_services.hub_client(company)


def fetch_usage(
    api: HubClient, module_code: str, organization_ids: list[str], billing_types: list[str]
) -> UsageResult:
    """The one hub read of a batch (paged and chunked by the client)."""
    return api.usage(module_code, organization_ids, billing_types)


class _Hub:
    """A group task's one hub client, opened on the first read in the calling thread
    (opening reads, and may refresh, the token in the database) and kept for the next
    batches, so they reuse its connection. A failure to open is raised by every read."""

    def __init__(self, company: Company):
        self.company = company
        self._api: HubClient | None = None
        self._failure: Exception | None = None

    def open(self) -> None:
        if self._api is None and self._failure is None:
            try:
                self._api = open_hub(self.company)
            except Exception as exc:  # raised again by read(), where outcomes are made
                self._failure = exc

    def read(self, read: _Read) -> UsageResult:
        if self._failure is not None:
            raise self._failure
        return fetch_usage(self._api, read.module_code, read.organization_ids, read.billing_types)

    def read_in_thread(self, read: _Read) -> UsageResult:
        try:
            return self.read(read)
        finally:
            # Renewing a refused token touches the database with this thread's connection.
            connection.close()

    def close(self) -> None:
        if self._api is not None:
            self._api.close()


@dataclass
class _Read:
    """One module's hub read for a batch, and the services waiting for it."""

    module_code: str
    organization_ids: list[str]
    billing_types: list[str]
    services: list[tuple[int, list[str], str]]  # (service id, its organizations, billing type)


@dataclass
class _Plan:
    """A batch as read from the database, before the hub is asked."""

    batch: Batch
    outcomes: dict[int, Outcome]  # filled for services decided without the hub
    reads: list[_Read]
    errors: list = field(default_factory=list)


def sync_group(run_id: int, batch: Batch, now: datetime | None = None) -> dict[int, Outcome]:
    """Sync the services that still hold the batch's claim (one batch of a group task,
    or the one service of a manual sync). Returns the outcome per service written."""
    run = SyncRun.objects.filter(pk=run_id).select_related("company").first()
    if run is None:
        return {}
    hub = _Hub(run.company)
    try:
        plan = _plan(run.company, batch)
        if plan.reads:
            hub.open()
        _finish(run, plan, [(read, partial(hub.read, read)) for read in plan.reads], now)
    finally:
        hub.close()
    return plan.outcomes


def sync_batches(run_id: int, batches: list[Batch], now: datetime | None = None) -> None:
    """A group task: sync its batches one after the other, each in its own transaction,
    reading the hub for the next batch (in a background thread) while the current one
    is computed and written. The hub read and the database write are the two big costs
    of a batch, and they wait on different things."""
    if len(batches) < 2:
        for batch in batches:
            sync_group(run_id, batch, now)
        return
    run = SyncRun.objects.filter(pk=run_id).select_related("company").first()
    if run is None:
        return
    company = run.company
    hub = _Hub(company)
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="icb-hub-read") as reader:
            pending = None
            for batch in batches:
                plan = _plan(company, batch)
                if plan.reads:
                    hub.open()
                reads = [
                    (read, reader.submit(hub.read_in_thread, read).result) for read in plan.reads
                ]
                if pending:
                    _finish(run, *pending, now)
                pending = (plan, reads)
            _finish(run, *pending, now)
    finally:
        hub.close()


def sync_job(job: Job, now: datetime | None = None) -> None:
    sync_batches(job.run_id, job.batches, now)


def _finish(run: SyncRun, plan: _Plan, reads: list, now: datetime | None) -> None:
    """Make the outcomes of a planned batch from its reads' usage (each a callable that
    returns it or raises), then write the batch."""
    for read, get_usage in reads:
        _apply(run.company, plan, read, get_usage)
    _write(run, plan, now or timezone.now())


def _plan(company: Company, batch: Batch) -> _Plan:
    """Read a batch's services and their mappings; decide the services that need no hub
    read (module gone, nothing mapped) and list what to read for the others."""
    claimed = batch.services(company.pk)
    plan = _Plan(batch, outcomes={}, reads=[])
    by_module: dict[int | None, list[dict]] = defaultdict(list)
    for row in claimed.order_by().values(
        "id",
        "contract__account_id",
        "icb_module_id",
        "icb_module__code",
        "icb_billing_type_id",
        "icb_billing_type__code",
        "icb_billing_type__module_id",
    ):
        by_module[row["icb_module_id"]].append(row)
    for module_id, rows in by_module.items():
        usable = []
        for row in rows:
            if (
                module_id is None
                or row["icb_billing_type_id"] is None
                or row["icb_billing_type__module_id"] != module_id
            ):
                plan.outcomes[row["id"]] = Outcome(
                    SyncStatus.ERROR,
                    message="The module or billing type of this service "
                    "no longer exists. Choose them again on the Integrated Customer Billing "
                    "tab.",
                )
            else:
                usable.append(row)
        if not usable:
            continue
        # The accounts come from a subquery over the claimed services: the database joins
        # them, rather than this process sending a list of up to BATCH_SIZE account ids.
        orgs_of: dict[int, list[str]] = defaultdict(list)
        for account_id, external_id in (
            Mapping.objects.filter(
                company=company,
                module_id=module_id,
                account_id__in=claimed.values("contract__account_id"),
            )
            .order_by("organization__external_id")
            .values_list("account_id", "organization__external_id")
        ):
            orgs_of[account_id].append(external_id)
        services = []
        for row in usable:
            organizations = orgs_of.get(row["contract__account_id"])
            if organizations:
                services.append((row["id"], organizations, row["icb_billing_type__code"]))
            else:
                plan.outcomes[row["id"]] = Outcome(
                    SyncStatus.MAPPING_INCOMPLETE, message=MAPPING_INCOMPLETE_MESSAGE
                )
        if services:
            plan.reads.append(
                _Read(
                    module_code=usable[0]["icb_module__code"],
                    organization_ids=sorted({o for _, orgs, _ in services for o in orgs}),
                    billing_types=sorted({kind for _, _, kind in services}),
                    services=services,
                )
            )
    return plan


def _apply(company: Company, plan: _Plan, read: _Read, get_usage) -> None:
    """Fill the outcomes of one read's services from its usage, or from its failure."""
    module_code = read.module_code
    try:
        usage = get_usage()
    except HubError as exc:
        for service_id, _, _ in read.services:
            plan.outcomes[service_id] = Outcome(
                SyncStatus.ERROR, message=exc.message[:500], retry_after=exc.retry_after
            )
        plan.errors.append(
            {"module": module_code, "message": exc.message, "services": len(read.services)}
        )
        return
    except Exception:  # never leave a service without a visible outcome
        log.exception("Usage read of %s for company %s failed", module_code, company.pk)
        message = (
            f"Reading usage from {settings.ICB_HUB_NAME} failed unexpectedly; it will be retried."
        )
        for service_id, _, _ in read.services:
            plan.outcomes[service_id] = Outcome(SyncStatus.ERROR, message=message)
        plan.errors.append(
            {"module": module_code, "message": message, "services": len(read.services)}
        )
        return
    failures = []
    for service_id, organizations, billing_type in read.services:
        outcome = plan.outcomes[service_id] = compute_units(
            organizations, billing_type, usage, module_code=module_code
        )
        if outcome.status == SyncStatus.ERROR:
            failures.append(outcome.message)
    if failures:
        plan.errors.append(
            {
                "module": module_code,
                "services": len(failures),
                "message": f"{len(failures)} service(s) had incomplete or unusable usage; "
                f"the first: {failures[0]}",
            }
        )


def compute_units(
    organization_ids: list[str], billing_type: str, usage: UsageResult, *, module_code: str = ""
) -> Outcome:
    """The sum of each mapped organization's own quantity, or an error that keeps the
    units when any quantity is missing or the sum cannot be stored."""
    hub = settings.ICB_HUB_NAME
    reported = usage.quantities
    try:
        quantities = [reported[(o, billing_type)] for o in organization_ids]
        missing = [o for o in organization_ids if o in usage.missing] if usage.missing else []
    except KeyError:
        missing = [
            o for o in organization_ids if (o, billing_type) not in reported or o in usage.missing
        ]
    if missing:
        shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
        return Outcome(
            SyncStatus.ERROR,
            message=(
                f"{hub} did not report {billing_type} for organization(s) {shown} (removed from "
                "the module, or a partial answer). Units were kept; check the mapping."
            ),
        )
    try:
        total = sum(quantities, Decimal(0))
        if not total.is_finite() or total < 0 or total >= UNITS_LIMIT:
            raise ArithmeticError
        units = total.quantize(CENT, rounding=ROUND_HALF_UP)
        if units >= UNITS_LIMIT:
            raise ArithmeticError
    except ArithmeticError:
        return Outcome(
            SyncStatus.ERROR,
            message=(
                f"{hub} reported a quantity that cannot be stored as units (negative or more "
                f"than {MAX_DIGITS - DECIMAL_PLACES} digits). Units were kept."
            ),
        )
    return Outcome(
        SyncStatus.OK,
        units=units,
        module_code=module_code,
        billing_type=billing_type,
        organization_ids=organization_ids,
        quantities=quantities,
        usage=usage,
    )


def _write(run: SyncRun, plan: _Plan, now: datetime) -> None:
    """One transaction: lock the services that still hold the claim, take the old units
    from the locked rows, write units, sync state, history and run items in bulk. Rows
    are built as tuples of database values, not model instances: at 60,000 services,
    instances and the field machinery cost more than the SQL."""
    outcomes = plan.outcomes
    tonight = next_midnight(now, run.company.zone)
    at = connection.ops.adapt_datetimefield_value(now)
    company_id = run.company_id
    isoformat = _cached_isoformat()
    # A run lists what needs a look: changes (their history rows), failures and missing
    # mappings (run items). Unchanged services are counted: most services of most
    # nights, rows nobody reads. A manual sync lists its service whatever the result.
    list_unchanged = run.trigger == SyncTrigger.MANUAL
    with transaction.atomic():
        locked = list(
            plan.batch.services(company_id)
            .select_for_update()
            .order_by("id")
            .values_list("id", "units", "sync_retry_count")
        )
        states: dict[int, tuple] = {}
        unit_changes: dict[int, Decimal] = {}
        history, items = [], []
        counts = {"changed": 0, "unchanged": 0, "error": 0, "incomplete": 0}
        for service_id, old, retries in locked:
            outcome = outcomes.get(service_id)
            if outcome is None:  # claimed after this job read its services: not ours
                continue
            new_units = old
            if outcome.status == SyncStatus.OK:
                # (status, message, last_sync_at, next_sync_at, retry count), then claim cleared
                state = (SyncStatus.OK, "", now, tonight, 0)
                new_units = outcome.units
                if new_units != old:
                    unit_changes[service_id] = new_units
                    item_status = ItemStatus.CHANGED
                    counts["changed"] += 1
                    history.append(
                        (
                            company_id,
                            service_id,
                            str(old),
                            str(new_units),
                            at,
                            UnitChangeSource.SYNC,
                            None,
                            run.pk,
                            json.dumps(outcome.detail(isoformat)),
                        )
                    )
                else:
                    item_status = ItemStatus.UNCHANGED
                    counts["unchanged"] += 1
            elif outcome.status == SyncStatus.MAPPING_INCOMPLETE:
                state = (SyncStatus.MAPPING_INCOMPLETE, outcome.message, KEEP, tonight, 0)
                item_status = ItemStatus.MAPPING_INCOMPLETE
                counts["incomplete"] += 1
            else:
                state = (
                    SyncStatus.ERROR,
                    outcome.message,
                    KEEP,
                    retry_at(now, retries + 1, outcome.retry_after),
                    retries + 1,
                )
                item_status = ItemStatus.ERROR
                counts["error"] += 1
            states[service_id] = state
            # A change is itemized by its history row (which carries the run's id).
            if item_status not in (ItemStatus.CHANGED, ItemStatus.UNCHANGED) or (
                item_status == ItemStatus.UNCHANGED and list_unchanged
            ):
                items.append(
                    (
                        run.pk,
                        company_id,
                        service_id,
                        item_status,
                        str(old),
                        str(new_units),
                        outcome.message,
                    )
                )
        skipped = [service_id for service_id, _, _ in locked if service_id not in states]
        _store_state(
            plan.batch.services(company_id), states, skipped, unit_changes=unit_changes, at=at
        )
        _insert(ServiceUnitChange, HISTORY_FIELDS, history)
        _insert(SyncRunItem, ITEM_FIELDS, items)
        stored = SyncRun.objects.select_for_update().get(pk=run.pk)
        stored.services_ok += counts["changed"]
        stored.services_unchanged += counts["unchanged"]
        stored.services_failed += counts["error"]
        stored.services_incomplete += counts["incomplete"]
        stored.errors = (stored.errors or []) + plan.errors
        stored.groups_done += 1
        if stored.groups_done >= stored.groups_total:
            stored.finished_at = now
        stored.save()


def _cached_isoformat():
    """isoformat() once per distinct time: a hub measures most organizations at the
    same moment, and a group has thousands of them."""
    cache: dict[datetime, str] = {}

    def isoformat(value: datetime) -> str:
        text = cache.get(value)
        if text is None:
            text = cache[value] = value.isoformat()
        return text

    return isoformat


# Marks a sync-state column that this outcome leaves as it is (last_sync_at on failure).
KEEP = object()


HISTORY_FIELDS = [
    "company",
    "service",
    "old_units",
    "new_units",
    "changed_at",
    "source",
    "user",
    "sync_run_id",
    "detail",
]
ITEM_FIELDS = ["run", "company", "service", "status", "old_units", "new_units", "message"]


INSERT_ROWS = 500


def _insert(model, field_names: list[str], rows: list[tuple]) -> None:
    """INSERT many rows, INSERT_ROWS per statement (one multi-row VALUES: far fewer
    round trips than executemany on PostgreSQL). The rows hold database values already
    (decimals and JSON as text, times adapted by the backend): bulk_create would spend
    most of its time preparing each value through the field machinery."""
    if not rows:
        return
    quote = connection.ops.quote_name
    columns = ", ".join(quote(model._meta.get_field(name).column) for name in field_names)
    row = "(" + ", ".join(["%s"] * len(field_names)) + ")"
    limit = connection.features.max_query_params  # None: no limit (PostgreSQL)
    per_statement = min(INSERT_ROWS, limit // len(field_names)) if limit else INSERT_ROWS
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            # Only quoted names from the model's metadata are formatted in; values are
            # parameters.
            sql = (
                f"INSERT INTO {quote(model._meta.db_table)} ({columns}) "  # noqa: S608
                f"VALUES {', '.join([row] * len(chunk))}"
            )
            cursor.execute(sql, [value for values in chunk for value in values])


STATE_FIELDS = ["icb_status", "icb_message", "last_sync_at", "next_sync_at", "sync_retry_count"]
ID_CHUNK = 900
UNITS_CHUNK = 1000


def _store_state(
    claimed: QuerySet[Service],
    states: dict[int, tuple],
    skipped: list[int],
    *,
    unit_changes: dict[int, Decimal],
    at,
) -> None:
    """Write the new sync state (and release the claim) and the units of the locked
    services in a few statements. Services whose new state is the same share one UPDATE;
    the largest such set (nearly all of a batch: same status, times and message) is
    selected as the batch (`claimed`) rather than by its ids. Changed units go in one
    statement per chunk (Django's bulk_update builds an expression per row and field,
    far slower)."""
    written: set[int] = set()
    if unit_changes and connection.vendor == "postgresql":
        # Units, state and release in one statement: one new row version per service.
        _units_and_state_postgresql(unit_changes, states, at)
        written = set(unit_changes)
    by_state: dict[tuple, list[int]] = defaultdict(list)
    for service_id, state in states.items():
        by_state[state].append(service_id)
    largest = max(by_state, key=lambda state: len(by_state[state]), default=None)
    for state, ids in by_state.items():
        values = {f: v for f, v in zip(STATE_FIELDS, state, strict=True) if v is not KEEP}
        if state == largest:
            # The rows are locked, so the claim holders are exactly the locked services
            # (less those written above, which no longer hold it).
            others = [
                i for other, other_ids in by_state.items() if other != state for i in other_ids
            ] + skipped
            claimed.exclude(pk__in=others).update(
                sync_claim_token="", sync_claimed_until=None, **values
            )
            continue
        ids = [i for i in ids if i not in written]
        for start in range(0, len(ids), ID_CHUNK):
            Service.objects.filter(pk__in=ids[start : start + ID_CHUNK]).update(
                sync_claim_token="", sync_claimed_until=None, **values
            )
    if unit_changes and connection.vendor != "postgresql":
        _units_sqlite(sorted(unit_changes.items()), at)


def _column(name: str) -> str:
    return connection.ops.quote_name(Service._meta.get_field(name).column)


def _units_and_state_postgresql(
    unit_changes: dict[int, Decimal], states: dict[int, tuple], at
) -> None:
    """Changed units joined from a VALUES list (PostgreSQL would evaluate a long CASE per
    row), with the services' new sync state and the claim released."""
    table = connection.ops.quote_name(Service._meta.db_table)
    by_state: dict[tuple, list[tuple[int, Decimal]]] = defaultdict(list)
    for service_id, new_units in sorted(unit_changes.items()):
        by_state[states[service_id]].append((service_id, new_units))  # all the same: OK
    with connection.cursor() as cursor:
        for state, changed in by_state.items():
            values = {f: v for f, v in zip(STATE_FIELDS, state, strict=True) if v is not KEEP}
            assignments = "".join(f", {_column(f)} = %s" for f in values)
            for start in range(0, len(changed), UNITS_CHUNK):
                chunk = changed[start : start + UNITS_CHUNK]
                params: list = [at, *values.values()]
                for service_id, new_units in chunk:
                    params += [service_id, str(new_units)]
                rows = ", ".join(["(%s, %s)"] * len(chunk))
                # Only quoted names from the model's metadata and placeholders are
                # formatted in; every value is a parameter.
                cursor.execute(
                    f"UPDATE {table} SET {_column('units')} = "  # noqa: S608
                    f"CAST(v.units AS DECIMAL(12, 2)), {_column('updated_at')} = %s, "
                    f"{_column('sync_claim_token')} = '', {_column('sync_claimed_until')} = "
                    f"NULL{assignments} FROM (VALUES {rows}) AS v(id, units) "
                    f"WHERE {table}.{_column('id')} = v.id",
                    params,
                )


def _units_sqlite(changed: list[tuple[int, Decimal]], at) -> None:
    """Changed units with one CASE per chunk (UPDATE … FROM needs SQLite 3.33, newer than
    Django's minimum)."""
    table = connection.ops.quote_name(Service._meta.db_table)
    pk = _column("id")
    with connection.cursor() as cursor:
        for start in range(0, len(changed), ID_CHUNK // 3):
            chunk = changed[start : start + ID_CHUNK // 3]
            cases = " ".join(["WHEN %s THEN CAST(%s AS DECIMAL(12, 2))"] * len(chunk))
            params: list = []
            for service_id, new_units in chunk:
                params += [service_id, str(new_units)]
            params.append(at)
            params += [service_id for service_id, _ in chunk]
            # Only quoted names from the model's metadata and placeholders are formatted
            # in; every value is a parameter.
            cursor.execute(
                f"UPDATE {table} SET {_column('units')} = CASE {pk} {cases} END, "  # noqa: S608
                f"{_column('updated_at')} = %s WHERE {pk} IN "
                f"({', '.join(['%s'] * len(chunk))})",
                params,
            )


# --- manual sync ---------------------------------------------------------------------------


def sync_one(service: Service, *, user: User | None) -> SyncRun:
    """Sync one service now, in this process: take the claim (even from a nightly job in
    flight, whose write then skips this service), then the same batch code."""
    now = timezone.now()
    token = new_token()
    run = SyncRun.objects.create(
        company_id=service.company_id,
        trigger=SyncTrigger.MANUAL,
        user=user,
        started_at=now,
        groups_total=1,
    )
    Service.objects.filter(pk=service.pk, billing_mode=BillingMode.ICB).update(
        sync_claim_token=token, sync_claimed_until=now + CLAIM_TTL
    )
    module_id = (
        Service.objects.filter(pk=service.pk).values_list("icb_module_id", flat=True).first()
    )
    sync_group(run.pk, Batch(token, module_id, service.pk, service.pk, [service.pk]))
    return run
