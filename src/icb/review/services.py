"""Billing review: the decisions on held changes (approve, dismiss, adjust, in bulk) and
the review policy's changes. The sync engine holds the changes (billing_sync.held); a
decision locks the service's row first, as the engine's batch write does, so a sync and
a person deciding the same service at once are applied one after the other: one outcome,
one history row.

    approve(held=, actor=, effective_date=)    units become the proposed number
    dismiss(held=, actor=, reason=)            units stay; this number is not held again
    adjust(held=, actor=, units=, note=)       units become another number
    decide_many(company=, actor=, action=, ids=)  approve or dismiss several
    policy_update(company=, actor=, data=)     the policy, recorded old → new
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from icb.billing_sync.held_events import record_decided
from icb.billing_sync.models import (
    HeldChange,
    HeldStatus,
    ReviewMode,
    ReviewPolicy,
    ReviewPolicyChange,
)
from icb.billing_sync.policy import RULE_FIELDS
from icb.common.errors import Conflict, InvalidInput, NotFound
from icb.common.validation import FieldErrors
from icb.contracts import services as contract_services
from icb.contracts.models import (
    BillingMode,
    Contract,
    Service,
    ServiceUnitChange,
    UnitChangeSource,
)
from icb.hub.models import Module
from icb.tenancy.models import Company

from .selectors import policy_of

MANUAL_MESSAGE = (
    "This service was switched to manual billing after the change was held; nothing was "
    "changed. Its units are edited on the service page now."
)
UNITS_MOVED_MESSAGE = (
    "The units of this service changed after the change was held ({now} instead of "
    "{then}); nothing was changed. Reload to see the current state."
)
NOTE_LIMIT = 500


@dataclass
class Decision:
    status: str
    units: Decimal | None = None  # the new units, None: kept
    source: str = ""
    note: str = ""
    effective_date: datetime.date | None = None


def _text(value, *, field: str, required: bool = False, what: str = "") -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(f"{what or field}: enter text.", field=field)
    value = value.strip()
    if required and not value:
        raise InvalidInput(f"{what or field} is required.", field=field)
    if len(value) > NOTE_LIMIT:
        raise InvalidInput(
            f"{what or field}: at most {NOTE_LIMIT} characters ({len(value)} given).",
            field=field,
        )
    return value


def _contract(held: HeldChange) -> Contract:
    contract = (
        Contract.objects.filter(services__pk=held.service_id).select_related("company").first()
    )
    if contract is None:
        raise NotFound(contract_services.GONE_MESSAGE)
    return contract


def approve(*, held: HeldChange, actor, effective_date=None) -> HeldChange:
    """Units become the proposed number, effective from `effective_date` (default
    today; not in the future, not before the contract's start)."""
    day = contract_services.check_effective_date(effective_date, contract=_contract(held))
    return _decide(
        held,
        actor,
        lambda locked: Decision(
            HeldStatus.APPROVED, locked.proposed_units, UnitChangeSource.APPROVED, "", day
        ),
    )


def dismiss(*, held: HeldChange, actor, reason="") -> HeldChange:
    """Units stay. A later sync reporting the same number keeps them silently; a
    different number is held again."""
    note = _text(reason, field="reason", what="Reason")
    return _decide(held, actor, lambda locked: Decision(HeldStatus.DISMISSED, note=note))


def adjust(*, held: HeldChange, actor, units, note, effective_date=None) -> HeldChange:
    """Units become another number than the one proposed, with a note saying why."""
    errors = FieldErrors()
    number = errors.read(contract_services.parse_decimal, units, field="units")
    text = errors.read(_text, note, field="note", required=True, what="Note")
    day = errors.read(
        contract_services.check_effective_date, effective_date, contract=_contract(held)
    )
    errors.raise_if_any()
    return _decide(
        held,
        actor,
        lambda locked: Decision(
            HeldStatus.ADJUSTED, number, UnitChangeSource.ADJUSTED, text or "", day
        ),
    )


def _decide(held: HeldChange, actor, decision_of) -> HeldChange:
    """Lock the service, then the held change; refuse (409, nothing changed) when it is
    no longer pending or the service no longer synced; write the units and their history
    row when they change, and the decision."""
    now = timezone.now()
    user = contract_services.actor_user(actor)
    with transaction.atomic():
        service = Service.objects.select_for_update().filter(pk=held.service_id).first()
        if service is None:
            raise NotFound(contract_services.GONE_MESSAGE)
        locked = HeldChange.objects.select_for_update().get(pk=held.pk)
        if service.billing_mode != BillingMode.ICB:
            raise Conflict(MANUAL_MESSAGE, code="not_synced")
        if locked.status != HeldStatus.PENDING:
            raise Conflict(already_decided_message(locked), code="already_decided")
        if service.units != locked.current_units:
            raise Conflict(
                UNITS_MOVED_MESSAGE.format(now=service.units, then=locked.current_units),
                code="already_decided",
            )
        decision = decision_of(locked)
        if decision.units is not None and decision.units != service.units:
            old = service.units
            service.units = decision.units
            service.save(update_fields=["units", "updated_at"])
            ServiceUnitChange.objects.create(
                company_id=service.company_id,
                service=service,
                old_units=old,
                new_units=service.units,
                changed_at=now,
                source=decision.source,
                user=user,
                detail=locked.detail if decision.source == UnitChangeSource.APPROVED else {},
                effective_date=decision.effective_date,
                note=decision.note,
            )
        locked.status = decision.status
        locked.decided_at = now
        locked.decided_by = user
        locked.decided_units = decision.units
        locked.effective_date = decision.effective_date
        locked.note = decision.note
        locked.save()
        record_decided(locked, service.units)  # the outbox, in this transaction
    return locked


def already_decided_message(held: HeldChange) -> str:
    if held.status == HeldStatus.WITHDRAWN:
        return (
            "This held change was withdrawn"
            + (f" ({held.note.rstrip('.')})" if held.note else "")
            + "; nothing was changed."
        )
    who = held.decided_by.email if held.decided_by_id and held.decided_by else "someone else"
    return (
        f"This held change was already {held.get_status_display().lower()} by {who}; "
        "nothing was changed."
    )


BULK_ACTIONS = {"approve", "dismiss"}


@dataclass
class BulkResult:
    decided: list[int]
    skipped: dict[int, str]  # held change id -> why it was not decided


def decide_many(*, held_changes: list[HeldChange], actor, action: str, reason="") -> BulkResult:
    """Approve (effective today) or dismiss several held changes, each in its own
    transaction: one that another person or a sync decided meanwhile is skipped with
    its reason, the others are decided."""
    if action not in BULK_ACTIONS:
        raise InvalidInput("Choose approve or dismiss.", field="action")
    note = _text(reason, field="reason", what="Reason")
    result = BulkResult([], {})
    for held in held_changes:
        try:
            if action == "approve":
                approve(held=held, actor=actor)
            else:
                dismiss(held=held, actor=actor, reason=note)
        except (Conflict, NotFound, InvalidInput) as exc:
            result.skipped[held.pk] = exc.message
        else:
            result.decided.append(held.pk)
    return result


# --- the policy ----------------------------------------------------------------------

NUMBER_LIMITS = {
    "max_units": 10**9,
    "max_percent": 10**6,
    "hold_drop_percent": 100,
}
_WORDS = {
    "mode": "Mode",
    "max_units": "More than N units",
    "max_percent": "More than P %",
    "hold_drop_to_zero": "Hold drops to zero",
    "hold_drop_percent": "Drops larger than Q %",
    "hold_first_sync": "Hold the first sync",
}


def _rules(data, *, prefix: str, errors: FieldErrors) -> dict:
    """One policy's fields, checked; refused ones are named `prefix + field`."""
    if not isinstance(data, dict):
        errors.add(InvalidInput("Send the policy's fields as an object.", field=prefix or "body"))
        return {}
    rules: dict = {}
    for name in RULE_FIELDS:
        field = prefix + name
        value = data.get(name)
        label = _WORDS[name]
        if name == "mode":
            if value not in ReviewMode.values:
                errors.add(
                    InvalidInput(
                        f"{label}: choose one of {', '.join(ReviewMode.values)}.", field=field
                    )
                )
                continue
        elif name.startswith("hold_") and name != "hold_drop_percent":
            if not isinstance(value, bool):
                errors.add(InvalidInput(f"{label}: true or false.", field=field))
                continue
        elif value is not None:
            if isinstance(value, bool) or not isinstance(value, int):
                errors.add(InvalidInput(f"{label}: a whole number, or empty.", field=field))
                continue
            if not 0 <= value <= NUMBER_LIMITS[name]:
                errors.add(
                    InvalidInput(
                        f"{label}: between 0 and {NUMBER_LIMITS[name]:,}.".replace(",", " "),
                        field=field,
                    )
                )
                continue
        rules[name] = value
    return rules


def policy_update(*, company: Company, actor, data: dict) -> dict:
    """Replace the company's review policy (its rules and its modules' overrides; a
    module left out has none) and record the change, who and when, old → new. Answers
    the policy as policy_of() reads it."""
    errors = FieldErrors()
    if not isinstance(data, dict):
        raise InvalidInput("Send the policy as an object.", field="body")
    company_rules = _rules(data, prefix="", errors=errors)
    overrides = data.get("modules") or {}
    if not isinstance(overrides, dict):
        errors.add(InvalidInput("modules: an object of module codes.", field="modules"))
        overrides = {}
    modules = {
        m.code: m for m in Module.objects.for_company(company).filter(code__in=list(overrides))
    }
    module_rules = {}
    for code, rules in overrides.items():
        if code not in modules:
            errors.add(
                InvalidInput(f"Unknown module “{str(code)[:40]}”.", field=f"modules.{code}"[:80])
            )
            continue
        module_rules[code] = _rules(rules, prefix=f"modules.{code}.", errors=errors)
    errors.raise_if_any()
    with transaction.atomic():
        # Changes of one company's policy are applied one after the other.
        Company.objects.select_for_update().filter(pk=company.pk).first()
        old = policy_of(company)
        stored = ReviewPolicy.objects.for_company(company)
        stored.update_or_create(company=company, module=None, defaults=company_rules)
        stored.filter(module__isnull=False).exclude(module__code__in=list(module_rules)).delete()
        for code, rules in module_rules.items():
            stored.update_or_create(company=company, module=modules[code], defaults=rules)
        new = policy_of(company)
        if new != old:
            ReviewPolicyChange.objects.create(
                company=company, user=contract_services.actor_user(actor), old=old, new=new
            )
    return new
