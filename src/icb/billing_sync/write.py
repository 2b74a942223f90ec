"""Stage 3 of the sync engine: write a batch's outcomes in one transaction. The services
are locked and their old units read from the locked rows; only services still holding
the batch's claim are written (a manual sync or a re-dispatch may have taken some). The
statements themselves are in bulk.py.

    write_batch(run, plan, now)   units, sync state, history rows, run items, run counts
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from icb.contracts.models import ServiceUnitChange, SyncStatus, UnitChangeSource
from icb.events.services import record_event
from icb.events.types import SYNC_RUN_FINISHED

from .bulk import KEEP, SyncState, insert_rows, store_states
from .compute import Plan
from .events import run_finished_payload
from .held import Review, Verdict
from .models import ItemStatus, SyncRun, SyncRunItem, SyncTrigger
from .scheduling import next_midnight, retry_at

log = logging.getLogger(__name__)

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
    "effective_date",
]
ITEM_FIELDS = ["run", "company", "service", "status", "old_units", "new_units", "message"]


def write_batch(run: SyncRun, plan: Plan, now: datetime) -> None:
    """One transaction: lock the services that still hold the claim, take the old units
    from the locked rows, write units, sync state, history and run items in bulk, and
    count the batch on its run. Rows are built as tuples of database values, not model
    instances: for a batch of thousands, instances and the field machinery cost more
    than the SQL."""
    outcomes = plan.outcomes
    tonight = next_midnight(now, run.company.zone)
    at = connection.ops.adapt_datetimefield_value(now)
    today = connection.ops.adapt_datefield_value(timezone.localdate(now, run.company.zone))
    company_id = run.company_id
    isoformat = _cached_isoformat()
    synced = SyncState(SyncStatus.OK, "", now, tonight, 0)
    # A run lists what needs a look: changes (their history rows), failures and missing
    # mappings (run items). Unchanged services are counted: most services of most
    # nights, rows nobody reads. A manual sync lists its service whatever the result.
    list_unchanged = run.trigger == SyncTrigger.MANUAL
    with transaction.atomic():
        locked = list(
            plan.batch.services(company_id)
            .select_for_update()
            .order_by("id")
            .values_list("id", "units", "sync_retry_count", "icb_status")
        )
        # The review policy and the batch's held changes, read after the lock.
        review = Review.load(company_id, plan.batch.services(company_id))
        states: dict[int, SyncState] = {}
        unit_changes: dict[int, Decimal] = {}
        history, items = [], []
        counts = {"changed": 0, "unchanged": 0, "error": 0, "incomplete": 0, "held": 0}
        for service_id, old, retries, sync_status in locked:
            outcome = outcomes.get(service_id)
            if outcome is None:  # claimed after this batch was planned: not ours
                continue
            new_units = old
            if outcome.status == SyncStatus.OK:
                state = synced
                assert outcome.units is not None
                new_units = outcome.units
                verdict = Verdict.APPLY
                if new_units != old or service_id in review.pending:
                    verdict = review.check(
                        service_id,
                        old,
                        outcome,
                        first_sync=sync_status == SyncStatus.NEVER,
                        detail=lambda o: o.detail_json(isoformat),
                        run_id=run.pk,
                        at=at,
                    )
                if verdict is Verdict.HOLD:  # the units stay; the held change has the number
                    item_status = ItemStatus.HELD
                    counts["held"] += 1
                elif verdict is Verdict.KEEP:  # the number a person dismissed: no change
                    new_units = old
                    item_status = ItemStatus.UNCHANGED
                    counts["unchanged"] += 1
                elif new_units != old:
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
                            outcome.detail_json(isoformat),
                            today,
                        )
                    )
                else:
                    item_status = ItemStatus.UNCHANGED
                    counts["unchanged"] += 1
            elif outcome.status == SyncStatus.MAPPING_INCOMPLETE:
                state = SyncState(SyncStatus.MAPPING_INCOMPLETE, outcome.message, KEEP, tonight, 0)
                item_status = ItemStatus.MAPPING_INCOMPLETE
                counts["incomplete"] += 1
            else:
                state = SyncState(
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
            # A held change is listed from its HeldChange row (which carries the run's id).
            if item_status != ItemStatus.CHANGED and (
                item_status not in (ItemStatus.UNCHANGED, ItemStatus.HELD) or list_unchanged
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
        skipped = [row[0] for row in locked if row[0] not in states]
        store_states(
            plan.batch.services(company_id), states, skipped, unit_changes=unit_changes, at=at
        )
        insert_rows(ServiceUnitChange, HISTORY_FIELDS, history)
        insert_rows(SyncRunItem, ITEM_FIELDS, items)
        review.write(run.pk, now)
        stored = SyncRun.objects.select_for_update().get(pk=run.pk)
        stored.services_changed += counts["changed"]
        stored.services_unchanged += counts["unchanged"]
        stored.services_failed += counts["error"]
        stored.services_incomplete += counts["incomplete"]
        stored.services_held += counts["held"]
        stored.errors = (stored.errors or []) + plan.errors
        # A run closed as interrupted (dispatch.close_interrupted) before this batch came
        # back stays as it was closed: the services written here are counted, the batch
        # stays among those not done.
        finished = False
        if not stored.interrupted:
            stored.batches_done += 1
            finished = stored.finished_at is None and stored.batches_done >= stored.batches_total
            if finished:
                stored.finished_at = now
        stored.save()
        if finished:  # told in the same transaction (the outbox: icb.events)
            record_event(
                company=company_id, type=SYNC_RUN_FINISHED, payload=run_finished_payload(stored)
            )
    if finished:
        _log_finished(stored, now)


def _log_finished(run: SyncRun, now: datetime) -> None:
    log.info(
        "Sync run %s finished: company %s, %s; %d changed, %d unchanged, %d failed, "
        "%d mapping incomplete, %d held for review; %.1f s",
        run.pk,
        run.company_id,
        run.trigger,
        run.services_changed,
        run.services_unchanged,
        run.services_failed,
        run.services_incomplete,
        run.services_held,
        (now - run.started_at).total_seconds(),
    )


def _cached_isoformat() -> Callable[[datetime], str]:
    """isoformat() once per distinct time: a hub measures most organizations at the
    same moment, and a batch has thousands of them."""
    cache: dict[datetime, str] = {}

    def isoformat(value: datetime) -> str:
        text = cache.get(value)
        if text is None:
            text = cache[value] = value.isoformat()
        return text

    return isoformat
