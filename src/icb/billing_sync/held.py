"""Held changes inside a batch write (stage 3): the review policy decides, in memory,
which changed services keep their units; their held changes are upserted in bulk in the
batch's transaction, after the services are locked (a person deciding a held change
locks the service first too, so the two are applied one after the other).

    Review.load(company_id, claimed)   the policies and the batch's held changes: 2 queries
    review.decide(...)                 APPLY, HOLD or KEEP, and the rule: nothing recorded
    review.check(...)                  the same, recorded for write() (the batch write)
    review.write(run_id, at)           the held changes inserted, updated, withdrawn
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet

from icb.contracts.models import Service

from .bulk import ID_CHUNK, insert_rows
from .compute import Outcome
from .held_events import record_held, record_withdrawn
from .models import HeldChange, HeldStatus
from .policy import PolicySet, hold_rule

HELD_FIELDS = [
    "company",
    "service",
    "status",
    "current_units",
    "proposed_units",
    "rule",
    "detail",
    "first_seen_at",
    "last_seen_at",
    "sync_run_id",
    "last_run_id",
    "note",
]
WITHDRAWN_NOTE = "Integration Hub reported the current units again."
SUPERSEDED_NOTE = "A later sync's number was applied or is the one dismissed."


class Verdict(enum.Enum):
    APPLY = "apply"  # write the new units
    HOLD = "hold"  # keep the units; the held change records the new number
    KEEP = "keep"  # keep the units silently: a person dismissed this very number


class Review:
    def __init__(self, company_id: int, policies: PolicySet, rows: list[tuple]):
        self.company_id = company_id
        self.policies = policies
        # service id -> (held change id, proposed units) of its pending held change
        self.pending: dict[int, tuple[int, Decimal]] = {}
        self._service_of: dict[int, int] = {}  # held change id -> service id
        # service id -> (current, proposed) of its latest dismissal
        self.dismissed: dict[int, tuple[Decimal, Decimal]] = {}
        for held_id, service_id, status, current, proposed in rows:
            if status == HeldStatus.PENDING:
                self.pending[service_id] = (held_id, proposed)
                self._service_of[held_id] = service_id
            else:  # rows come oldest first: the last one stays
                self.dismissed[service_id] = (current, proposed)
        self.new: list[tuple] = []
        self.seen: list[int] = []  # pending, same number: last seen only
        self.updated: list[tuple[int, Decimal, Decimal, str, str]] = []
        self.withdrawn: dict[str, list[int]] = {}

    @classmethod
    def load(cls, company_id: int, claimed: QuerySet[Service]) -> Review:
        rows = list(
            HeldChange.objects.filter(
                company_id=company_id,
                service__in=claimed.values("pk"),
                status__in=[HeldStatus.PENDING, HeldStatus.DISMISSED],
            )
            .order_by("decided_at", "id")
            .values_list("id", "service_id", "status", "current_units", "proposed_units")
        )
        return cls(company_id, PolicySet.load(company_id), rows)

    def check(
        self,
        service_id: int,
        old: Decimal,
        outcome: Outcome,
        *,
        first_sync: bool,
        detail: Callable[[Outcome], str],
        run_id: int,
        at: Any,
    ) -> Verdict:
        """What to do with a successful outcome's units (`detail` makes the JSON of its
        breakdown, only when a held change is written)."""
        new = outcome.units
        assert new is not None
        verdict, rule = self.decide(
            service_id, old, new, outcome.module_code, first_sync=first_sync
        )
        pending = self.pending.get(service_id)
        if verdict is not Verdict.HOLD:
            if pending:
                self._withdraw(pending[0], WITHDRAWN_NOTE if new == old else SUPERSEDED_NOTE)
            return verdict
        assert rule is not None
        if pending is None:
            self.new.append(
                (
                    self.company_id,
                    service_id,
                    HeldStatus.PENDING,
                    str(old),
                    str(new),
                    rule,
                    detail(outcome),
                    at,
                    at,
                    run_id,
                    run_id,
                    "",
                )
            )
        elif pending[1] == new:
            self.seen.append(pending[0])
        else:
            self.updated.append((pending[0], old, new, rule, detail(outcome)))
        return Verdict.HOLD

    def decide(
        self, service_id: int, old: Decimal, new: Decimal, module_code: str, *, first_sync: bool
    ) -> tuple[Verdict, str | None]:
        """The verdict on a service's new number, with the rule that holds it; records
        nothing (check() records it; the preview asks only this)."""
        if new == old:
            return Verdict.APPLY, None
        if self.dismissed.get(service_id) == (old, new):
            return Verdict.KEEP, None
        rule = hold_rule(self.policies.rules_for(module_code), old, new, first_sync=first_sync)
        return (Verdict.APPLY, None) if rule is None else (Verdict.HOLD, rule)

    def _withdraw(self, held_id: int, note: str) -> None:
        self.withdrawn.setdefault(note, []).append(held_id)

    def write(self, run_id: int, now: datetime) -> None:
        """The batch's held changes: new ones inserted, pending ones seen again or
        updated, and withdrawn ones closed (decided by nobody: the hub)."""
        insert_rows(HeldChange, HELD_FIELDS, self.new)
        pending = HeldChange.objects.filter(status=HeldStatus.PENDING)
        for start in range(0, len(self.seen), ID_CHUNK):
            pending.filter(pk__in=self.seen[start : start + ID_CHUNK]).update(
                last_seen_at=now, last_run_id=run_id
            )
        for held_id, old, new, rule, detail in self.updated:
            pending.filter(pk=held_id).update(
                current_units=old,
                proposed_units=new,
                rule=rule,
                detail=json.loads(detail),
                last_seen_at=now,
                last_run_id=run_id,
            )
        for note, ids in self.withdrawn.items():
            for start in range(0, len(ids), ID_CHUNK):
                pending.filter(pk__in=ids[start : start + ID_CHUNK]).update(
                    status=HeldStatus.WITHDRAWN, decided_at=now, last_run_id=run_id, note=note
                )
        # Told in the same transaction (the outbox): a new number held, and withdrawals.
        record_held(
            self.company_id,
            [row[1] for row in self.new] + [self._service_of[h] for h, *_ in self.updated],
            run_id,
        )
        record_withdrawn(self.company_id, [i for ids in self.withdrawn.values() for i in ids])
