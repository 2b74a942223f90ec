"""What Billing review tells the outbox (icb.events; shapes in docs/webhooks.md):
`change.held` when a sync holds a new number (a new held change, or a pending one whose
proposed number changed) and `change.decided` when a held change is decided or
withdrawn. Recorded in the transaction that makes the change."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from icb.common.money import to_cents
from icb.events.services import record_events
from icb.events.types import CHANGE_DECIDED, CHANGE_HELD

from .models import HeldChange, HeldStatus


def _rows(held_ids: Iterable[int]) -> list[HeldChange]:
    return list(
        HeldChange.objects.filter(pk__in=list(held_ids))
        .select_related("service__contract__account", "decided_by")
        .order_by("id")
    )


def _impact(held: HeldChange) -> Any:
    return to_cents(held.delta * held.service.unit_price)


def held_payload(held: HeldChange, run_id: int | None) -> dict[str, Any]:
    service = held.service
    return {
        "held_change_id": held.pk,
        "service_id": held.service_id,
        "service_name": service.name,
        "contract_id": service.contract_id,
        "account_id": service.contract.account_id,
        "account_name": service.contract.account.name,
        "current_units": held.current_units,
        "proposed_units": held.proposed_units,
        "rule": held.rule,
        "monthly_impact": _impact(held),
        "currency": service.contract.currency,
        "run_id": run_id,
    }


def decided_payload(held: HeldChange, units) -> dict[str, Any]:
    return {
        "held_change_id": held.pk,
        "service_id": held.service_id,
        "decision": held.status,
        "units": units,
        "effective_date": held.effective_date,
        "user": held.decided_by.email if held.decided_by_id and held.decided_by else None,
        "note": held.note,
        "monthly_impact": _impact(held),
        "currency": held.service.contract.currency,
    }


def record_held(company_id: int, service_ids: list[int], run_id: int) -> None:
    """`change.held` for the pending held changes of `service_ids` (two queries)."""
    if not service_ids:
        return
    ids = HeldChange.objects.filter(
        service_id__in=service_ids, status=HeldStatus.PENDING
    ).values_list("pk", flat=True)
    record_events(
        company=company_id,
        type=CHANGE_HELD,
        payloads=[held_payload(held, run_id) for held in _rows(ids)],
    )


def record_withdrawn(company_id: int, held_ids: list[int]) -> None:
    """`change.decided` (withdrawn) for held changes a sync or a stop withdrew; the
    service's units are the current ones."""
    if not held_ids:
        return
    record_events(
        company=company_id,
        type=CHANGE_DECIDED,
        payloads=[decided_payload(held, held.current_units) for held in _rows(held_ids)],
    )


def record_decided(held: HeldChange, units) -> None:
    """`change.decided` for one decision; `units`: the service's units after it."""
    [row] = _rows([held.pk])
    record_events(
        company=held.company_id, type=CHANGE_DECIDED, payloads=[decided_payload(row, units)]
    )
