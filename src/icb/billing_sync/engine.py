"""The sync engine: the dispatcher that claims due ICB services, and the group sync that
computes and writes their units. Set-based on purpose: a group (one company, one module,
at most BATCH_SIZE services) costs a few queries and one bulk usage read from the hub,
whatever its size. A manual sync is the same code with a group of one.

    dispatch_due(now)            claim due services, one SyncRun per company, one task
                                 per (company, module) batch: (run id, service ids, token)
    sync_group(run, ids, token)  read mappings and usage, compute in memory, write the
                                 services that still hold the claim in one transaction

Units only ever change to a sum computed from a complete, validated hub answer; any
failure keeps them, records the error on the service and the run, and schedules a
retry with back-off.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

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
from icb.money import CENT
from icb.tenancy.models import Company, User

from .models import ItemStatus, SyncRun, SyncRunItem, SyncTrigger
from .scheduling import next_midnight, retry_at

log = logging.getLogger(__name__)

CLAIM_TTL = timedelta(minutes=30)
BATCH_SIZE = 2000
# Units are DECIMAL(12, 2): anything at or above 10^10 cannot be stored.
UNITS_LIMIT = Decimal(10) ** (MAX_DIGITS - DECIMAL_PLACES)
MAPPING_INCOMPLETE_MESSAGE = "Mapping Settings Incomplete"


@dataclass
class Job:
    run_id: int
    service_ids: list[int]
    claim_token: str


@dataclass
class Outcome:
    status: str  # SyncStatus.OK, MAPPING_INCOMPLETE or ERROR
    units: Decimal | None = None
    message: str = ""
    detail: dict = field(default_factory=dict)
    retry_after: float | None = None


def new_token() -> str:
    return uuid.uuid4().hex


# --- the dispatcher ---------------------------------------------------------------------

def _due(now: datetime) -> Q:
    return (Q(billing_mode=BillingMode.ICB, next_sync_at__lte=now)
            & (Q(sync_claimed_until__isnull=True) | Q(sync_claimed_until__lt=now)))


def dispatch_due(now: datetime | None = None, *, enqueue: bool = True) -> list[Job]:
    """Claim every due ICB service with one conditional UPDATE (a service claimed by
    another dispatcher, and not expired, does not match the WHERE, so it is never
    claimed twice), then split the claimed services into jobs per (company, module),
    at most BATCH_SIZE services each. Overdue services (after downtime) are simply due.
    With `enqueue`, each job is sent to a worker; the jobs are returned either way."""
    now = now or timezone.now()
    token = new_token()
    claimed = Service.objects.filter(_due(now)).update(
        sync_claim_token=token, sync_claimed_until=now + CLAIM_TTL)
    if not claimed:
        return []
    rows = (Service.objects.filter(sync_claim_token=token)
            .order_by("company_id", "icb_module_id", "id")
            .values_list("id", "company_id", "icb_module_id", "sync_retry_count"))
    groups: dict[int, dict[int | None, list[int]]] = defaultdict(lambda: defaultdict(list))
    retrying: dict[int, bool] = {}
    for service_id, company_id, module_id, retries in rows:
        groups[company_id][module_id].append(service_id)
        retrying[company_id] = retrying.get(company_id, True) and retries > 0
    jobs: list[Job] = []
    for company_id, modules in groups.items():
        batches = [ids[i:i + BATCH_SIZE] for ids in modules.values()
                   for i in range(0, len(ids), BATCH_SIZE)]
        run = SyncRun.objects.create(
            company_id=company_id, started_at=now, groups_total=len(batches),
            trigger=SyncTrigger.RETRY if retrying[company_id] else SyncTrigger.NIGHTLY)
        jobs += [Job(run.pk, batch, token) for batch in batches]
    if enqueue:
        from .tasks import sync_group_task

        for job in jobs:
            sync_group_task.delay(job.run_id, job.service_ids, job.claim_token)
    return jobs


# --- the group sync -----------------------------------------------------------------------

def fetch_usage(company: Company, module_code: str, organization_ids: list[str],
                billing_types: list[str]) -> UsageResult:
    """The one hub read of a group (paged and chunked by the client)."""
    api: HubClient = hub_services.hub_client(company)
    with api:
        return api.usage(module_code, organization_ids, billing_types)


def sync_group(run_id: int, service_ids: list[int], claim_token: str,
               now: datetime | None = None) -> dict[int, Outcome]:
    """Sync the services of one job that still hold `claim_token`. Returns the outcome
    per service written."""
    run = SyncRun.objects.filter(pk=run_id).select_related("company").first()
    if run is None:
        return {}
    company = run.company
    rows = list(
        Service.objects.filter(pk__in=service_ids, company=company,
                               sync_claim_token=claim_token, billing_mode=BillingMode.ICB)
        .values("id", "contract__account_id", "icb_module_id", "icb_module__code",
                "icb_billing_type_id", "icb_billing_type__code",
                "icb_billing_type__module_id")
    )
    outcomes: dict[int, Outcome] = {}
    by_module: dict[int | None, list[dict]] = defaultdict(list)
    for row in rows:
        by_module[row["icb_module_id"]].append(row)
    errors = []
    for module_id, module_rows in by_module.items():
        error = _compute_module(company, module_id, module_rows, outcomes)
        if error:
            errors.append(error)
    _write(run, outcomes, claim_token, errors, now or timezone.now())
    return outcomes


def _compute_module(company: Company, module_id: int | None, rows: list[dict],
                    outcomes: dict[int, Outcome]) -> dict | None:
    """Fill `outcomes` for the services of one module; return the run error, if any."""
    hub = settings.ICB_HUB_NAME
    usable = []
    for row in rows:
        if (module_id is None or row["icb_billing_type_id"] is None
                or row["icb_billing_type__module_id"] != module_id):
            outcomes[row["id"]] = Outcome(
                SyncStatus.ERROR, message="The module or billing type of this service no "
                "longer exists. Choose them again on the Integrated Customer Billing tab.")
        else:
            usable.append(row)
    if not usable:
        return None
    module_code = usable[0]["icb_module__code"]
    accounts = {row["contract__account_id"] for row in usable}
    orgs_of: dict[int, list[str]] = defaultdict(list)
    for account_id, external_id in (
        Mapping.objects.filter(company=company, module_id=module_id, account_id__in=accounts)
        .order_by("organization__external_id")
        .values_list("account_id", "organization__external_id")
    ):
        orgs_of[account_id].append(external_id)
    mapped = []
    for row in usable:
        if orgs_of.get(row["contract__account_id"]):
            mapped.append(row)
        else:
            outcomes[row["id"]] = Outcome(SyncStatus.MAPPING_INCOMPLETE,
                                          message=MAPPING_INCOMPLETE_MESSAGE)
    if not mapped:
        return None
    organization_ids = sorted({o for row in mapped for o in orgs_of[row["contract__account_id"]]})
    billing_types = sorted({row["icb_billing_type__code"] for row in mapped})
    try:
        usage = fetch_usage(company, module_code, organization_ids, billing_types)
    except HubError as exc:
        for row in mapped:
            outcomes[row["id"]] = Outcome(SyncStatus.ERROR, message=exc.message[:500],
                                          retry_after=exc.retry_after)
        return {"module": module_code, "message": exc.message, "services": len(mapped)}
    except Exception:  # never leave a service without a visible outcome
        log.exception("Usage read of %s for company %s failed", module_code, company.pk)
        message = f"Reading usage from {hub} failed unexpectedly; it will be retried."
        for row in mapped:
            outcomes[row["id"]] = Outcome(SyncStatus.ERROR, message=message)
        return {"module": module_code, "message": message, "services": len(mapped)}
    for row in mapped:
        outcomes[row["id"]] = compute_units(
            orgs_of[row["contract__account_id"]], row["icb_billing_type__code"], usage,
            module_code=module_code)
    failures = [outcomes[row["id"]].message for row in mapped
                if outcomes[row["id"]].status == SyncStatus.ERROR]
    if failures:
        return {"module": module_code, "services": len(failures),
                "message": f"{len(failures)} service(s) had incomplete or unusable usage; "
                           f"the first: {failures[0]}"}
    return None


def compute_units(organization_ids: list[str], billing_type: str, usage: UsageResult, *,
                  module_code: str = "") -> Outcome:
    """The sum of each mapped organization's own quantity, or an error that keeps the
    units when any quantity is missing or the sum cannot be stored."""
    hub = settings.ICB_HUB_NAME
    missing = [o for o in organization_ids
               if o in usage.missing or (o, billing_type) not in usage.quantities]
    if missing:
        shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
        return Outcome(SyncStatus.ERROR, message=(
            f"{hub} did not report {billing_type} for organization(s) {shown} (removed from "
            "the module, or a partial answer). Units were kept; check the mapping."))
    quantities = {o: usage.quantities[(o, billing_type)] for o in organization_ids}
    try:
        total = sum(quantities.values(), Decimal(0))
        if not total.is_finite() or total < 0 or total >= UNITS_LIMIT:
            raise ArithmeticError
        units = total.quantize(CENT, rounding=ROUND_HALF_UP)
        if units >= UNITS_LIMIT:
            raise ArithmeticError
    except ArithmeticError:
        return Outcome(SyncStatus.ERROR, message=(
            f"{hub} reported a quantity that cannot be stored as units (negative or more "
            f"than {MAX_DIGITS - DECIMAL_PLACES} digits). Units were kept."))
    measured = {o: usage.measured_at[(o, billing_type)].isoformat()
                for o in organization_ids if (o, billing_type) in usage.measured_at}
    detail = {
        "module": module_code, "billing_type": billing_type,
        "quantities": {o: str(q) for o, q in quantities.items()},
        "measured_at": measured,
    }
    return Outcome(SyncStatus.OK, units=units, detail=detail)


def _write(run: SyncRun, outcomes: dict[int, Outcome], claim_token: str, errors: list,
           now: datetime) -> None:
    """One transaction: lock the services that still hold the claim, take the old units
    from the locked rows, write units, sync state, history and run items in bulk. Rows
    are handled as tuples, not model instances: at 60,000 services building instances
    costs more than the SQL."""
    tonight = next_midnight(now, run.company.zone)
    with transaction.atomic():
        locked = list(
            Service.objects.select_for_update()
            .filter(pk__in=list(outcomes), sync_claim_token=claim_token,
                    billing_mode=BillingMode.ICB)
            .order_by("id")
            .values_list("id", "company_id", "units", "sync_retry_count")
        )
        states: dict[int, tuple] = {}
        unit_changes: dict[int, Decimal] = {}
        history, items = [], []
        counts = {"changed": 0, "unchanged": 0, "error": 0, "incomplete": 0}
        for service_id, company_id, old, retries in locked:
            outcome = outcomes[service_id]
            new_units = old
            if outcome.status == SyncStatus.OK:
                # (status, message, last_sync_at, next_sync_at, retry count), then claim cleared
                state = (SyncStatus.OK, "", now, tonight, 0)
                new_units = outcome.units
                if new_units != old:
                    unit_changes[service_id] = new_units
                    item_status = ItemStatus.CHANGED
                    counts["changed"] += 1
                    history.append((company_id, service_id, old, new_units, now,
                                    UnitChangeSource.SYNC, None, run.pk, outcome.detail))
                else:
                    item_status = ItemStatus.UNCHANGED
                    counts["unchanged"] += 1
            elif outcome.status == SyncStatus.MAPPING_INCOMPLETE:
                state = (SyncStatus.MAPPING_INCOMPLETE, outcome.message, KEEP, tonight, 0)
                item_status = ItemStatus.MAPPING_INCOMPLETE
                counts["incomplete"] += 1
            else:
                state = (SyncStatus.ERROR, outcome.message, KEEP,
                         retry_at(now, retries + 1, outcome.retry_after), retries + 1)
                item_status = ItemStatus.ERROR
                counts["error"] += 1
            states[service_id] = state
            items.append((run.pk, company_id, service_id, item_status, old, new_units,
                          outcome.message))
        _store_state(states, unit_changes=unit_changes, now=now)
        _insert(ServiceUnitChange, HISTORY_FIELDS, history)
        _insert(SyncRunItem, ITEM_FIELDS, items)
        stored = SyncRun.objects.select_for_update().get(pk=run.pk)
        stored.services_ok += counts["changed"]
        stored.services_unchanged += counts["unchanged"]
        stored.services_failed += counts["error"]
        stored.services_incomplete += counts["incomplete"]
        stored.errors = (stored.errors or []) + errors
        stored.groups_done += 1
        if stored.groups_done >= stored.groups_total:
            stored.finished_at = now
        stored.save()


# Marks a sync-state column that this outcome leaves as it is (last_sync_at on failure).
KEEP = object()


HISTORY_FIELDS = ["company", "service", "old_units", "new_units", "changed_at", "source",
                  "user", "sync_run_id", "detail"]
ITEM_FIELDS = ["run", "company", "service", "status", "old_units", "new_units", "message"]


def _insert(model, field_names: list[str], rows: list[tuple]) -> None:
    """INSERT many rows with one executemany. bulk_create spends most of its time
    preparing each value of each row through the field machinery; here each column is
    converted with one small function (the values come from this module, already
    validated Decimals, aware datetimes, dicts)."""
    if not rows:
        return
    fields = [model._meta.get_field(name) for name in field_names]
    quote = connection.ops.quote_name
    converters = [_converter(f) for f in fields]
    values = [[convert(value) for convert, value in zip(converters, row, strict=True)]
              for row in rows]
    columns = ", ".join(quote(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    # Only quoted names from the model's metadata are formatted in; values are parameters.
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({placeholders})"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.executemany(sql, values)


def _converter(field):
    internal = field.get_internal_type()
    if internal == "JSONField":
        return lambda value: json.dumps(value, cls=DjangoJSONEncoder)
    if internal == "DateTimeField":
        cache: dict = {}

        def datetime_value(value):
            if value not in cache:
                cache[value] = connection.ops.adapt_datetimefield_value(value)
            return cache[value]

        return datetime_value
    if internal == "DecimalField":
        return lambda value: None if value is None else str(value)
    return lambda value: value


STATE_FIELDS = ["icb_status", "icb_message", "last_sync_at", "next_sync_at",
                "sync_retry_count"]
ID_CHUNK = 900


def _store_state(states: dict[int, tuple], *, unit_changes: dict[int, Decimal],
                 now: datetime) -> None:
    """Write the new sync state (and release the claim) and the units of the locked
    services in a few statements: services whose state is the same (almost all of a
    group: same status, times and message) share one UPDATE, and the changed units go in
    one CASE statement per chunk (Django's bulk_update builds an expression per row and
    field, far slower)."""
    by_state: dict[tuple, list[int]] = defaultdict(list)
    for service_id, state in states.items():
        by_state[state].append(service_id)
    for state, ids in by_state.items():
        values = {f: v for f, v in zip(STATE_FIELDS, state, strict=True) if v is not KEEP}
        for start in range(0, len(ids), ID_CHUNK):
            Service.objects.filter(pk__in=ids[start:start + ID_CHUNK]).update(
                sync_claim_token="", sync_claimed_until=None, **values)
    changed = sorted(unit_changes.items())
    if not changed:
        return
    table = connection.ops.quote_name(Service._meta.db_table)
    units = connection.ops.quote_name(Service._meta.get_field("units").column)
    updated = connection.ops.quote_name(Service._meta.get_field("updated_at").column)
    pk = connection.ops.quote_name(Service._meta.pk.column)
    value = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        for start in range(0, len(changed), ID_CHUNK // 3):
            chunk = changed[start:start + ID_CHUNK // 3]
            cases = " ".join(["WHEN %s THEN CAST(%s AS DECIMAL(12, 2))"] * len(chunk))
            params: list = []
            for service_id, new_units in chunk:
                params += [service_id, str(new_units)]
            params.append(value)
            params += [service_id for service_id, _ in chunk]
            # Only quoted names from the model's metadata and placeholders are formatted
            # in; every value is a parameter.
            sql = (f"UPDATE {table} SET {units} = CASE {pk} {cases} END, "  # noqa: S608
                   f"{updated} = %s WHERE {pk} IN ({', '.join(['%s'] * len(chunk))})")
            cursor.execute(sql, params)


# --- manual sync ---------------------------------------------------------------------------

def sync_one(service: Service, *, user: User | None) -> SyncRun:
    """Sync one service now, in this process: take the claim (even from a nightly job in
    flight, whose write then skips this service), then the same group code."""
    now = timezone.now()
    token = new_token()
    run = SyncRun.objects.create(company_id=service.company_id, trigger=SyncTrigger.MANUAL,
                                 user=user, started_at=now, groups_total=1)
    Service.objects.filter(pk=service.pk, billing_mode=BillingMode.ICB).update(
        sync_claim_token=token, sync_claimed_until=now + CLAIM_TTL)
    sync_group(run.pk, [service.pk], token)
    return run
