"""What a sync would change now, written nowhere: the engine's own stages with the write
switched off. The services are planned (compute.plan_batch) in batches as the sync cuts
them, their usage read from the hub and computed (compute.apply_usage), and each new
number put to the review policy (held.Review.decide, the step the batch write takes);
nothing is claimed, locked or written.

    preview_services(company, services, progress)  -> [PreviewRow], by service id
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import partial

from django.db.models import QuerySet

from icb.common.money import to_cents
from icb.contracts.models import BillingMode, Service, SyncStatus
from icb.tenancy.models import Company

from .compute import Outcome, Plan, apply_usage, plan_batch
from .dispatch import BATCH_SIZE, Batch
from .groups import HubSession
from .held import Review, Verdict


class Decision:
    """What the sync would do with a service (the `decision` of a preview row)."""

    APPLIED = "applied"  # the new units would be written
    HELD = "held"  # the policy would hold the new number (`rule` says which rule)
    KEPT = "kept"  # a person dismissed this very number: the units stay
    UNCHANGED = "unchanged"
    FAILED = "failed"  # the hub read or the number failed (`message` says why)
    INCOMPLETE = "mapping_incomplete"

    ALL = (APPLIED, HELD, KEPT, UNCHANGED, FAILED, INCOMPLETE)


@dataclass
class PreviewRow:
    service_id: int
    service: str
    contract_id: int
    account_id: int
    account: str
    module: str | None
    current_units: Decimal
    new_units: Decimal | None
    decision: str
    rule: str | None
    message: str
    unit_price: Decimal
    currency: str

    @property
    def monthly_impact(self) -> Decimal:
        """(new − current units) × unit price: what the change would do to a month (a
        held one, once approved); nothing for a kept number."""
        if self.new_units is None or self.decision == Decision.KEPT:
            return Decimal("0.00")
        return to_cents((self.new_units - self.current_units) * self.unit_price)

    def as_json(self) -> dict:
        return {
            "service_id": self.service_id,
            "service": self.service,
            "contract_id": self.contract_id,
            "account_id": self.account_id,
            "account": self.account,
            "module": self.module,
            "current_units": str(self.current_units),
            "new_units": None if self.new_units is None else str(self.new_units),
            "decision": self.decision,
            "rule": self.rule,
            "message": self.message,
            "monthly_impact": str(self.monthly_impact),
            "currency": self.currency,
        }


class PreviewBatch(Batch):
    """A batch of services by id, without a claim: the sync's batches select the
    services holding their claim, a preview claims nothing."""

    def services(self, company_id: int) -> QuerySet[Service]:
        return Service.objects.filter(
            company_id=company_id, pk__in=self.service_ids, billing_mode=BillingMode.ICB
        )


def preview_services(
    company: Company,
    services: QuerySet[Service],
    progress: Callable[[int, int], None] | None = None,
) -> list[PreviewRow]:
    """The preview of the company's ICB services among `services`, in batches of the
    sync's size by module; `progress(done, total)` after each batch."""
    ids = list(
        services.filter(company=company, billing_mode=BillingMode.ICB)
        .order_by("icb_module_id", "id")
        .values_list("id", "icb_module_id")
    )
    batches: list[PreviewBatch] = []
    for service_id, module_id in ids:
        last = batches[-1] if batches else None
        if last is None or last.module_id != module_id or len(last.service_ids) >= BATCH_SIZE:
            batches.append(PreviewBatch("", module_id, service_id, service_id, []))
        batches[-1].service_ids.append(service_id)
        batches[-1].last_id = service_id
    rows: list[PreviewRow] = []
    hub = HubSession(company)
    try:
        for batch in batches:
            plan = plan_batch(company, batch)
            if plan.reads:
                hub.open()
            for read in plan.reads:
                apply_usage(company, plan, read, partial(hub.read, read))
            rows += _decide(company, plan)
            if progress:
                progress(len(rows), len(ids))
    finally:
        hub.close()
    return sorted(rows, key=lambda row: row.service_id)


def _decide(company: Company, plan: Plan) -> list[PreviewRow]:
    """Each outcome as the batch write would take it (write.write_batch), unwritten."""
    services = plan.batch.services(company.pk)
    review = Review.load(company.pk, services)
    rows = []
    for service in services.select_related("contract__account", "icb_module").order_by("id"):
        outcome: Outcome | None = plan.outcomes.get(service.pk)
        if outcome is None:
            continue
        old, new, rule = service.units, outcome.units, None
        if outcome.status == SyncStatus.OK:
            assert new is not None
            verdict, rule = review.decide(
                service.pk,
                old,
                new,
                outcome.module_code,
                first_sync=service.icb_status == SyncStatus.NEVER,
            )
            if verdict is Verdict.HOLD:
                decision = Decision.HELD
            elif verdict is Verdict.KEEP:
                decision = Decision.KEPT
            else:
                decision = Decision.APPLIED if new != old else Decision.UNCHANGED
        elif outcome.status == SyncStatus.MAPPING_INCOMPLETE:
            decision = Decision.INCOMPLETE
        else:
            decision, new = Decision.FAILED, None
        contract = service.contract
        rows.append(
            PreviewRow(
                service_id=service.pk,
                service=service.name,
                contract_id=contract.pk,
                account_id=contract.account_id,
                account=contract.account.name,
                module=service.icb_module.code if service.icb_module else None,
                current_units=old,
                new_units=new if decision != Decision.INCOMPLETE else None,
                decision=decision,
                rule=rule,
                message=outcome.message,
                unit_price=service.unit_price,
                currency=contract.currency,
            )
        )
    return rows
