"""Stage 4 of the sync engine: a group task runs its batches, one after the other, each
planned (compute.py), read from the hub, computed and written (write.py) in its own
transaction. With several batches, the hub read of the next batch runs in a background
thread while the current one is written: the hub read and the database write are the
two big costs of a batch, and they wait on different things.

    sync_group(run_id, batches)   a group task's work (also a manual sync's batch of one)
    fail_batch(run_id, batch, ..) a batch that failed unexpectedly, written as failed
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import partial

from django.db import connection
from django.utils import timezone

from icb.contracts.models import SyncStatus
from icb.hub import services as hub_services
from icb.hub.client import HubClient, UsageResult
from icb.tenancy.models import Company

from .compute import HubRead, Outcome, Plan, apply_usage, plan_batch
from .dispatch import Batch
from .models import SyncRun
from .write import write_batch


def open_hub(company: Company) -> HubClient:
    """The hub client of one group task (opening it may refresh the token). A seam: the
    tests replace it to answer from a fake transport."""
    return hub_services.hub_client(company)


def fetch_usage(
    api: HubClient, module_code: str, organization_ids: list[str], billing_types: list[str]
) -> UsageResult:
    """The one hub read of a batch per module (paged and chunked by the client). A seam:
    the tests wrap it to act while a group task waits for the hub."""
    return api.usage(module_code, organization_ids, billing_types)


class HubSession:
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

    def read(self, read: HubRead) -> UsageResult:
        if self._failure is not None:
            raise self._failure
        assert self._api is not None, "open() before read()"
        return fetch_usage(self._api, read.module_code, read.organization_ids, read.billing_types)

    def read_in_thread(self, read: HubRead) -> UsageResult:
        try:
            return self.read(read)
        finally:
            # Renewing a refused token touches the database with this thread's connection.
            connection.close()

    def close(self) -> None:
        if self._api is not None:
            self._api.close()


def sync_group(run_id: int, batches: list[Batch], now: datetime | None = None) -> None:
    """Sync the services that still hold each batch's claim, batch after batch, and count
    each batch on the run (the last one finishes it). `now`: the time of the sync
    (default: when each batch is written)."""
    run = SyncRun.objects.filter(pk=run_id).select_related("company").first()
    if run is None:
        return
    hub = HubSession(run.company)
    try:
        if len(batches) < 2:
            # Nothing to overlap: read in this thread (a manual sync, in the request).
            for batch in batches:
                plan = plan_batch(run.company, batch)
                if plan.reads:
                    hub.open()
                _finish(run, plan, [(read, partial(hub.read, read)) for read in plan.reads], now)
            return
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="icb-hub-read") as reader:
            pending = None
            for batch in batches:
                plan = plan_batch(run.company, batch)
                if plan.reads:
                    hub.open()
                reads = [
                    (read, reader.submit(hub.read_in_thread, read).result) for read in plan.reads
                ]
                if pending:
                    _finish(run, *pending, now)
                pending = (plan, reads)
            if pending:
                _finish(run, *pending, now)
    finally:
        hub.close()


def _finish(run: SyncRun, plan: Plan, reads: list, now: datetime | None) -> None:
    """Make the outcomes of a planned batch from its reads' usage (each a callable that
    answers it or raises), then write the batch."""
    for read, get_usage in reads:
        apply_usage(run.company, plan, read, get_usage)
    write_batch(run, plan, now or timezone.now())


def fail_batch(run_id: int, batch: Batch, message: str, now: datetime | None = None) -> None:
    """A planned batch whose sync failed unexpectedly (not a hub failure: those are
    outcomes), written as failed unless it was written already: its services keep their
    units and get the error and a retry, their claim is released and the run counts the
    batch. For a manual sync, whose batch lists its service."""
    run = (
        SyncRun.objects.filter(pk=run_id, finished_at__isnull=True)
        .select_related("company")
        .first()
    )
    if run is None:
        return
    outcomes = {i: Outcome(SyncStatus.ERROR, message=message) for i in batch.service_ids}
    errors = [{"message": message, "services": len(outcomes)}]
    write_batch(run, Plan(batch, outcomes=outcomes, reads=[], errors=errors), now or timezone.now())
