"""Use cases for contracts and their services (billing lines).

Every write goes through here, whatever the caller (page, API, later the sync engine):
inputs are parsed into exact types first, then the model's own invariants
(`full_clean`) decide, and every change of a service's units leaves a
`ServiceUnitChange` row.
"""

import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import ProtectedError, RestrictedError
from django.utils import timezone

from icb.common.errors import Conflict, InvalidInput, NotFound
from icb.common.validation import FieldErrors, full_clean_or_raise, parse_id
from icb.crm.models import Account
from icb.tenancy.models import BillingTiming, Company, Proration, User

from . import selectors
from .models import (
    BillingFrequency,
    Contract,
    ContractStatus,
    Service,
    ServiceUnitChange,
    UnitChangeSource,
)
from .parsing import (
    parse_choice,
    parse_currency,
    parse_date,
    parse_decimal,
    parse_payment_terms,
    parse_setting,
    parse_text,
    today_in,
)

CONTRACT_FIELDS = (
    "account_id",
    "name",
    "start_date",
    "end_date",
    "billing_frequency",
    "currency",
    "status",
    "billing_timing",
    "proration",
    "payment_terms_days",
)
SERVICE_FIELDS = (
    "name",
    "description",
    "unit_price",
    "units",
    "start_date",
    "end_date",
    "revenue_account_code",
)


def _account(*, company: Company, account_id) -> Account:
    pk = parse_id(account_id)
    account = Account.objects.filter(company=company, pk=pk).first() if pk else None
    if account is None:
        raise InvalidInput("Unknown account.", field="account_id")
    return account


def actor_user(actor) -> User | None:
    return actor if isinstance(actor, User) and actor.pk else None


# --- contracts -----------------------------------------------------------------------


def _apply_contract_changes(contract: Contract, changes: dict) -> None:
    """Set the changed fields and check the contract: every invalid field is named in
    one InvalidInput (nothing is saved here)."""
    unknown = set(changes) - set(CONTRACT_FIELDS)
    if unknown:
        field = sorted(unknown)[0]
        raise InvalidInput(f"“{field}” cannot be changed here.", field=field)
    errors = FieldErrors()
    parsers = {
        "account_id": lambda v: _account(company=contract.company, account_id=v),
        "name": lambda v: parse_text(v, field="name"),
        "start_date": lambda v: parse_date(v, field="start_date"),
        "end_date": lambda v: parse_date(v, field="end_date", required=False),
        "billing_frequency": lambda v: parse_choice(
            v, BillingFrequency.choices, field="billing_frequency", what="billing frequency"
        ),
        "currency": parse_currency,
        "status": lambda v: parse_choice(v, ContractStatus.choices, field="status", what="status"),
        "billing_timing": lambda v: parse_setting(
            v, BillingTiming.choices, field="billing_timing", what="billing timing"
        ),
        "proration": lambda v: parse_setting(
            v, Proration.choices, field="proration", what="proration"
        ),
        "payment_terms_days": parse_payment_terms,
    }
    for field, parse in parsers.items():
        if field not in changes:
            continue
        before = len(errors.errors)
        value = errors.read(parse, changes[field])
        if len(errors.errors) == before:
            setattr(contract, "account" if field == "account_id" else field, value)
    # The model names the account "account"; the input "account_id".
    errors.full_clean(contract, exclude=["account"] if "account_id" in errors.errors else [])
    if contract.pk and "start_date" not in errors.errors:
        # A service never starts before its contract.
        earlier = Service.objects.filter(contract=contract, start_date__lt=contract.start_date)
        if earlier.exists():
            errors.add(
                InvalidInput(
                    f"{earlier.count()} service(s) start before "
                    f"{contract.start_date.isoformat()}: change their start dates first.",
                    field="start_date",
                )
            )
    errors.raise_if_any()


def contract_create(
    *,
    company: Company,
    actor,
    account_id,
    name: str,
    start_date,
    end_date=None,
    billing_frequency: str,
    currency: str,
    status: str = ContractStatus.ACTIVE,
    billing_timing: str | None = None,
    proration: str | None = None,
    payment_terms_days=None,
) -> Contract:
    contract = Contract(company=company)
    _apply_contract_changes(
        contract,
        {
            "account_id": account_id,
            "name": name,
            "start_date": start_date,
            "end_date": end_date,
            "billing_frequency": billing_frequency,
            "currency": currency,
            "status": status,
            "billing_timing": billing_timing,
            "proration": proration,
            "payment_terms_days": payment_terms_days,
        },
    )
    contract.save()
    return contract


def contract_check(*, company: Company, contract: Contract | None = None, **fields) -> None:
    """Check a new contract's fields (or changes of `contract`) without saving: an
    InvalidInput naming every invalid field, as creating or saving it would raise."""
    if contract is None:
        contract = Contract(company=company)
    else:
        contract = Contract.objects.get(pk=contract.pk)  # a copy: the caller's stays as is
    _apply_contract_changes(contract, {k: v for k, v in fields.items() if k in CONTRACT_FIELDS})


def contract_update(*, contract: Contract, actor, **changes) -> Contract:
    _apply_contract_changes(contract, changes)
    contract.save()
    return contract


# --- services ------------------------------------------------------------------------


def _parse_service_fields(changes: dict, errors: FieldErrors) -> dict:
    """The service fields given, parsed; a refused one is left out, its message kept."""
    parsed: dict[str, str | Decimal | datetime.date | None] = {}
    for field in SERVICE_FIELDS:
        if field not in changes:
            continue
        before = len(errors.errors)
        value: str | Decimal | datetime.date | None
        if field in ("unit_price", "units"):
            value = errors.read(parse_decimal, changes[field], field=field)
        elif field == "start_date":
            value = errors.read(parse_date, changes[field], field=field)
        elif field == "end_date":
            value = errors.read(parse_date, changes[field], field=field, required=False)
        else:
            value = errors.read(parse_text, changes[field], field=field)
        if len(errors.errors) == before:
            parsed[field] = value
    return parsed


def _new_service(contract: Contract, fields: dict) -> Service:
    """A new service of `contract` from the fields given, checked: every invalid field
    is named in one InvalidInput."""
    errors = FieldErrors()
    if fields.get("start_date") in (None, ""):
        # The day it is added, or the contract's start when that is still to come.
        fields = {**fields, "start_date": max(today_in(contract.company), contract.start_date)}
    parsed = _parse_service_fields(fields, errors)
    service = Service(company_id=contract.company_id, contract=contract, **parsed)
    errors.full_clean(service)
    errors.raise_if_any()
    return service


def service_check(*, contract: Contract, **fields) -> None:
    """Check a new service's fields without saving (as service_create would)."""
    _new_service(contract, {k: v for k, v in fields.items() if k in SERVICE_FIELDS})


def service_create(
    *,
    contract: Contract,
    actor,
    name: str,
    unit_price,
    units,
    description: str = "",
    start_date=None,
    end_date=None,
    revenue_account_code: str = "",
) -> Service:
    service = _new_service(
        contract,
        {
            "name": name,
            "description": description,
            "unit_price": unit_price,
            "units": units,
            "start_date": start_date,
            "end_date": end_date,
            "revenue_account_code": revenue_account_code,
        },
    )
    with transaction.atomic():
        service.save()
        ServiceUnitChange.objects.create(
            company_id=service.company_id,
            service=service,
            old_units=None,
            new_units=service.units,
            source=UnitChangeSource.CREATED,
            user=actor_user(actor),
            changed_at=service.created_at,
            # Its units hold from the service's start, even one added later.
            effective_date=service.start_date,
        )
    return service


GONE_MESSAGE = "This service no longer exists; it was deleted meanwhile."


def lock_service(service: Service) -> Service:
    """The service's row, locked until the end of the transaction (call inside one), or
    NotFound when another request deleted it after this one read it."""
    locked = Service.objects.select_for_update().filter(pk=service.pk).first()
    if locked is None:
        raise NotFound(GONE_MESSAGE)
    return locked


def check_effective_date(value, *, contract: Contract) -> datetime.date:
    """The day a change of units counts from: today in the company's time zone when not
    given; never in the future, never before the contract's start."""
    today = timezone.localdate(timezone.now(), contract.company.zone)
    day = parse_date(value, field="effective_date", required=False) or today
    if day > today:
        raise InvalidInput(
            "Effective date: the change cannot take effect in the future "
            f"(today is {today.isoformat()}).",
            field="effective_date",
        )
    if day < contract.start_date:
        raise InvalidInput(
            "Effective date: the change cannot take effect before the contract starts "
            f"({contract.start_date.isoformat()}).",
            field="effective_date",
        )
    return day


def service_update(*, service: Service, actor, effective_date=None, **changes) -> Service:
    """Change a service. A history row is written only when the units really change,
    dated `effective_date` (default today; see effective_date()). The row is locked
    first, so two writers at once are applied one after the other and each history
    row's "old" is the value it really replaced."""
    unknown = set(changes) - set(SERVICE_FIELDS)
    if unknown:
        field = sorted(unknown)[0]
        raise InvalidInput(f"“{field}” cannot be changed here.", field=field)
    errors = FieldErrors()
    parsed = _parse_service_fields(changes, errors)
    day = errors.read(check_effective_date, effective_date, contract=service.contract)
    if errors.errors:
        # The other fields' own rules too, so one answer names every invalid field.
        draft = Service(
            **{f: getattr(service, f) for f in SERVICE_FIELDS}, contract=service.contract
        )
        for field, value in parsed.items():
            setattr(draft, field, value)
        errors.full_clean(draft, exclude=["company", "contract"])
        errors.raise_if_any()
    assert day is not None  # refused above otherwise

    with transaction.atomic():
        locked = lock_service(service)
        old_units = locked.units
        if locked.is_icb and "units" in parsed and parsed["units"] != old_units:
            raise Conflict(
                "The units of this service come from Integrated Customer Billing. Stop "
                "Integrated Customer Billing to edit them by hand.",
                field="units",
                code="units_synced",
            )
        for field, value in parsed.items():
            setattr(locked, field, value)
        full_clean_or_raise(locked)
        locked.save()
        if locked.units != old_units:
            ServiceUnitChange.objects.create(
                company_id=locked.company_id,
                service=locked,
                old_units=old_units,
                new_units=locked.units,
                source=UnitChangeSource.USER,
                user=actor_user(actor),
                changed_at=locked.updated_at,
                effective_date=day,
            )
    if Service.contract.is_cached(service):
        locked.contract = service.contract
    return locked


HAS_HISTORY_MESSAGE = (
    "This service has a unit history, which invoices may rely on: it cannot be deleted. "
    "End it instead (set its end date)."
)


ON_INVOICE_MESSAGE = (
    "This service is on an invoice: it cannot be deleted. End it instead (set its end date)."
)


def service_delete(*, service: Service, actor) -> None:
    """Delete a service entered by mistake: only while its history is its creation row.
    A service with more history is ended instead (Conflict), and the database refuses
    deleting a service with history too (RESTRICT), or one on an invoice (an invoice
    line's PROTECT)."""
    try:
        with transaction.atomic():
            locked = lock_service(service)
            if selectors.has_unit_history(locked):
                raise Conflict(HAS_HISTORY_MESSAGE, code="has_history")
            locked.unit_changes.all().delete()
            locked.delete()
    except (ProtectedError, RestrictedError):
        raise Conflict(ON_INVOICE_MESSAGE, code="has_history") from None


def service_end(*, service: Service, actor, end_date) -> Service:
    """End a service on `end_date` (its last day billed), keeping it and its history."""
    return service_update(
        service=service, actor=actor, end_date=parse_date(end_date, field="end_date")
    )
