"""Stage 1 of the sync engine: the dispatcher. It claims the due ICB services, cuts them
into batches, shares the batches among group tasks and records one run per company; the
caller (the beat task in tasks.py) hands the group tasks to the workers. A manual sync
claims its one service here too. Words as in the glossary of docs/architecture.md.

    dispatch_due(now)          -> the group tasks to run, [GroupTask(run id, batches)]
                                  (first closing the runs whose claims expired)
    claim_for_manual_sync(..)  -> the group task of one service, run in the request
"""

from __future__ import annotations

import logging
import sqlite3
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

from django.conf import settings
from django.db import connection
from django.db.models import Field, Q, QuerySet
from django.utils import timezone

from icb.contracts.models import BillingMode, Service
from icb.hub.models import HubConnection, HubState
from icb.tenancy.models import User

from .models import SyncRun, SyncTrigger

log = logging.getLogger(__name__)

# A worker that dies holding a claim loses it after this long.
CLAIM_TTL = timedelta(minutes=30)
# A manual sync runs in a web request, which ends within a minute whatever happens
# (settings.ICB_MANUAL_SYNC_SECONDS, the web server's limit): its claim is short, so a
# request ended abruptly leaves the service free again soon.
MANUAL_CLAIM_TTL = timedelta(minutes=5)
BATCH_SIZE = 2000
# At most, the batches of one group task (see group_size): 100,000 services.
BATCHES_PER_GROUP = 50
CLAIM_CHUNK = 10_000  # claimed rows read at a time


@dataclass
class Batch:
    """At most BATCH_SIZE services of one company and module, consecutive among those
    claimed (with the dispatch's token): the unit of one hub read and one transaction.
    Its id range, company and module tell its services from the other batches'."""

    claim_token: str
    module_id: int | None
    first_id: int
    last_id: int
    service_ids: list[int] = field(default_factory=list)  # as planned; not sent

    def as_message(self) -> list:
        """What the group task's message carries (ids only)."""
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
        return Service.objects.filter(
            _module(self.module_id),
            company_id=company_id,
            pk__range=(self.first_id, self.last_id),
            sync_claim_token=self.claim_token,
            billing_mode=BillingMode.ICB,
        )


@dataclass
class GroupTask:
    """One group task: up to BATCHES_PER_GROUP consecutive batches of one company (its
    modules one after the other), reported to one run."""

    run_id: int
    batches: list[Batch]

    @property
    def service_ids(self) -> list[int]:
        return [i for batch in self.batches for i in batch.service_ids]


def new_token() -> str:
    return uuid.uuid4().hex


def _module(module_id: int | None) -> Q:
    return Q(icb_module__isnull=True) if module_id is None else Q(icb_module_id=module_id)


def _due(now: datetime) -> Q:
    return Q(billing_mode=BillingMode.ICB, next_sync_at__lte=now) & (
        Q(sync_claimed_until__isnull=True) | Q(sync_claimed_until__lt=now)
    )


def close_interrupted(now: datetime) -> int:
    """Close the runs whose claims have expired before all their batches were written
    (their worker, or the web request of a manual sync, died): finished now, flagged
    interrupted, batches_done left as the batches that were written. One UPDATE. Their
    services are due again (their claims expired) and the same dispatch takes them. A
    group task of such a run that comes back late writes only the services still holding
    its claim (usually none: the dispatch has re-claimed them), counts those on the run
    and leaves it closed (write.write_batch)."""
    expired = Q(started_at__lt=now - CLAIM_TTL) | Q(
        trigger=SyncTrigger.MANUAL, started_at__lt=now - MANUAL_CLAIM_TTL
    )
    return SyncRun.objects.filter(expired, finished_at__isnull=True).update(
        finished_at=now, interrupted=True
    )


def dispatch_due(now: datetime | None = None, workers: int | None = None) -> list[GroupTask]:
    """Claim every due ICB service and answer the group tasks that sync them: per
    (company, module), batches of at most BATCH_SIZE; the night's batches shared among
    `workers` group tasks (default: settings.ICB_SYNC_WORKERS, see group_size), each of
    one company; one run per company. The claim is one conditional UPDATE that repeats the due
    condition (claim_due), so a service claimed meanwhile by another dispatcher (and not
    expired) is never claimed twice. Overdue services (after downtime) are simply due;
    those of a company whose hub connection is broken wait for its reconnect. Runs whose
    claims expired unfinished are closed first."""
    now = now or timezone.now()
    interrupted = close_interrupted(now)
    if interrupted:
        log.warning(
            "Dispatch: %d sync runs closed as interrupted (their claims expired)", interrupted
        )
    token = new_token()
    by_company: dict[int, dict[int | None, list[int]]] = defaultdict(lambda: defaultdict(list))
    retrying: dict[int, bool] = {}
    claimed = 0
    module_id: int | None
    for service_id, company_id, module_id, retries in claim_due(now, token):
        by_company[company_id][module_id].append(service_id)
        retrying[company_id] = retrying.get(company_id, True) and retries > 0
        claimed += 1
    batches_of: dict[int, list[Batch]] = {}
    for company_id, modules in sorted(by_company.items(), key=lambda item: item[0]):
        batches_of[company_id] = []
        for module_id, ids in sorted(modules.items(), key=lambda item: item[0] or 0):
            ids.sort()
            batches_of[company_id] += [
                Batch(token, module_id, chunk[0], chunk[-1], chunk)
                for chunk in (ids[i : i + BATCH_SIZE] for i in range(0, len(ids), BATCH_SIZE))
            ]
    size = group_size(
        sum(len(batches) for batches in batches_of.values()),
        workers or settings.ICB_SYNC_WORKERS,
    )
    tasks: list[GroupTask] = []
    for company_id, batches in batches_of.items():
        run = SyncRun.objects.create(
            company_id=company_id,
            started_at=now,
            batches_total=len(batches),
            trigger=SyncTrigger.RETRY if retrying[company_id] else SyncTrigger.NIGHTLY,
        )
        tasks += [GroupTask(run.pk, batches[i : i + size]) for i in range(0, len(batches), size)]
    # Every minute: a line when something was claimed, otherwise only at debug level.
    log.log(
        logging.INFO if claimed else logging.DEBUG,
        "Dispatch: %d due services claimed in %d batches, %d group tasks, %d runs",
        claimed,
        sum(len(task.batches) for task in tasks),
        len(tasks),
        len(batches_of),
    )
    return tasks


def group_size(batches: int, workers: int) -> int:
    """Batches per group task: the night's batches shared evenly among the workers (a
    group task reads the hub for its next batch while it writes the current one, so
    fewer, longer tasks wait less for the hub), at most BATCHES_PER_GROUP (more
    workers than expected still find tasks to take)."""
    return max(1, min(BATCHES_PER_GROUP, -(-batches // max(1, workers))))


def claim_due(now: datetime, token: str) -> Iterator[tuple[int, int, int | None, int]]:
    """Claim every due service (less those of companies whose hub connection is broken)
    with `token`, in one UPDATE over the due index; yields the claimed services as (id,
    company id, module id, retries), read in chunks (the dispatcher keeps their ids
    only). The UPDATE re-checks the due condition on each row it writes, so of two
    dispatchers at once each service goes to one. One statement whatever the number of
    services: it answers the claimed rows itself (RETURNING) where the database can."""
    # A company whose hub connection is broken is left alone until it is reconnected
    # (its services stay due): the hub would refuse every read.
    broken = list(
        HubConnection.objects.filter(state=HubState.BROKEN).values_list("company_id", flat=True)
    )
    due = Service.objects.filter(_due(now))
    if broken:
        due = due.exclude(company_id__in=broken)
    until = now + CLAIM_TTL
    fields = ("id", "company_id", "icb_module_id", "sync_retry_count")
    if not can_return_rows():
        due.update(sync_claim_token=token, sync_claimed_until=until)
        claimed = Service.objects.filter(billing_mode=BillingMode.ICB, sync_claim_token=token)
        yield from claimed.values_list(*fields).iterator(chunk_size=CLAIM_CHUNK)
        return
    compiler = due.query.get_compiler(using=due.db)
    where, params = compiler.compile(due.query.where)
    quote = connection.ops.quote_name
    column = {
        f: quote(cast(Field, Service._meta.get_field(f)).column)
        for f in (*fields, "sync_claim_token", "sync_claimed_until")
    }
    sql = (
        f"UPDATE {quote(Service._meta.db_table)} "  # noqa: S608 (quoted names, placeholders)
        f"SET {column['sync_claim_token']} = %s, {column['sync_claimed_until']} = %s "
        f"WHERE {where} RETURNING {', '.join(column[f] for f in fields)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [token, connection.ops.adapt_datetimefield_value(until), *params])
        while rows := cursor.fetchmany(CLAIM_CHUNK):
            yield from rows


def can_return_rows() -> bool:
    """UPDATE … RETURNING: PostgreSQL, and SQLite from 3.35 (Django supports older)."""
    return connection.vendor == "postgresql" or (
        connection.vendor == "sqlite" and sqlite3.sqlite_version_info >= (3, 35)
    )


def claim_for_manual_sync(service: Service, *, user: User | None) -> GroupTask:
    """A manual sync's run and its batch of one: the claim is taken even from a nightly
    group task in flight, whose write then skips this service."""
    now = timezone.now()
    token = new_token()
    run = SyncRun.objects.create(
        company_id=service.company_id,
        trigger=SyncTrigger.MANUAL,
        user=user,
        started_at=now,
        batches_total=1,
    )
    Service.objects.filter(pk=service.pk, billing_mode=BillingMode.ICB).update(
        sync_claim_token=token, sync_claimed_until=now + MANUAL_CLAIM_TTL
    )
    module_id = (
        Service.objects.filter(pk=service.pk).values_list("icb_module_id", flat=True).first()
    )
    return GroupTask(run.pk, [Batch(token, module_id, service.pk, service.pk, [service.pk])])
