"""Stage 1 of the sync engine: the dispatcher. It finds the due ICB services, cuts them
into batches, claims each batch and records one run per company; the caller (the beat
task in tasks.py) hands the group tasks to the workers. A manual sync claims its one
service here too. Words as in the glossary of docs/architecture.md.

    dispatch_due(now)          -> the group tasks to run, [GroupTask(run id, batches)]
                                  (first closing the runs whose claims expired)
    claim_for_manual_sync(..)  -> the group task of one service, run in the request
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Q, QuerySet
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
# Batches of one group task: it reads the hub for the next batch while it writes the
# current one; more services per company and module make more group tasks.
BATCHES_PER_GROUP = 5


@dataclass
class Batch:
    """At most BATCH_SIZE services of one company and module with consecutive ids,
    claimed with their own token: the unit of one hub read and one transaction."""

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
    """One group task: up to BATCHES_PER_GROUP consecutive batches of one company and
    module, reported to one run."""

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


def dispatch_due(now: datetime | None = None) -> list[GroupTask]:
    """Claim every due ICB service and answer the group tasks that sync them: per
    (company, module), batches of at most BATCH_SIZE, at most BATCHES_PER_GROUP batches
    per group task, one run per company. Each batch is claimed with one conditional
    UPDATE that repeats the due condition, so a service claimed meanwhile by another
    dispatcher (and not expired) is never claimed twice. Overdue services (after
    downtime) are simply due; those of a company whose hub connection is broken wait
    for its reconnect. Runs whose claims expired unfinished are closed first."""
    now = now or timezone.now()
    interrupted = close_interrupted(now)
    if interrupted:
        log.warning(
            "Dispatch: %d sync runs closed as interrupted (their claims expired)", interrupted
        )
    # A company whose hub connection is broken is left alone until it is reconnected
    # (its services stay due): the hub would refuse every read.
    broken = list(
        HubConnection.objects.filter(state=HubState.BROKEN).values_list("company_id", flat=True)
    )
    services = Service.objects.filter(_due(now))
    if broken:
        services = services.exclude(company_id__in=broken)
    due = services.order_by("company_id", "icb_module_id", "id").values_list(
        "id", "company_id", "icb_module_id", "sync_retry_count"
    )
    by_company: dict[int, dict[int | None, list[int]]] = defaultdict(lambda: defaultdict(list))
    retrying: dict[int, bool] = {}
    module_id: int | None
    for service_id, company_id, module_id, retries in due:
        by_company[company_id][module_id].append(service_id)
        retrying[company_id] = retrying.get(company_id, True) and retries > 0
    tasks: list[GroupTask] = []
    claimed_services = runs = 0
    for company_id, modules in by_company.items():
        claimed: dict[int | None, list[Batch]] = {}
        for module_id, ids in modules.items():
            batches = []
            for i in range(0, len(ids), BATCH_SIZE):
                batch, taken = _claim(now, company_id, module_id, ids[i : i + BATCH_SIZE])
                if taken:
                    batches.append(batch)
                    claimed_services += taken
            claimed[module_id] = batches
        total = sum(len(batches) for batches in claimed.values())
        if not total:
            continue
        run = SyncRun.objects.create(
            company_id=company_id,
            started_at=now,
            batches_total=total,
            trigger=SyncTrigger.RETRY if retrying[company_id] else SyncTrigger.NIGHTLY,
        )
        runs += 1
        tasks += [
            GroupTask(run.pk, batches[i : i + BATCHES_PER_GROUP])
            for batches in claimed.values()
            for i in range(0, len(batches), BATCHES_PER_GROUP)
        ]
    # Every minute: a line when something was claimed, otherwise only at debug level.
    log.log(
        logging.INFO if runs else logging.DEBUG,
        "Dispatch: %d due services claimed in %d batches, %d group tasks, %d runs",
        claimed_services,
        sum(len(task.batches) for task in tasks),
        len(tasks),
        runs,
    )
    return tasks


def _claim(
    now: datetime, company_id: int, module_id: int | None, ids: list[int]
) -> tuple[Batch, int]:
    """Claim one batch with its own token; answers it and how many services it took.
    Its services are consecutive ids of one company and module, so the id range with
    those two selects them (the database walks the module index within the range; no
    list of ids to prepare and send)."""
    batch = Batch(new_token(), module_id, ids[0], ids[-1], ids)
    taken = Service.objects.filter(
        _due(now), _module(module_id), company_id=company_id, pk__range=(ids[0], ids[-1])
    ).update(sync_claim_token=batch.claim_token, sync_claimed_until=now + CLAIM_TTL)
    return batch, taken


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
