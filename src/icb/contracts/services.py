"""Use cases for contracts and their services (billing lines).

Every write goes through here, whatever the caller (page, API, later the sync engine):
inputs are parsed into exact types first, then the model's own invariants
(`full_clean`) decide, and every change of a service's units leaves a
`ServiceUnitChange` row.
"""

import datetime
import re
from decimal import Decimal, InvalidOperation
from typing import Literal, overload

from django.db import transaction
from django.utils import timezone

from icb.common.errors import Conflict, InvalidInput, NotFound
from icb.common.money import CENT, CURRENCIES
from icb.common.validation import FieldErrors, full_clean_or_raise, parse_id
from icb.crm.models import Account
from icb.tenancy.models import Company, User

from .models import (
    DECIMAL_PLACES,
    MAX_DIGITS,
    BillingFrequency,
    Contract,
    ContractStatus,
    Service,
    ServiceUnitChange,
    UnitChangeSource,
)

CONTRACT_FIELDS = (
    "account_id",
    "name",
    "start_date",
    "end_date",
    "billing_frequency",
    "currency",
    "status",
)
SERVICE_FIELDS = ("name", "description", "unit_price", "units")

_LABELS = {
    "effective_date": "Effective date",
    "unit_price": "Unit price",
    "units": "Units",
    "start_date": "Start date",
    "end_date": "End date",
}


# --- parsing -------------------------------------------------------------------------


PLAIN_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?", re.ASCII)


def parse_decimal(value, *, field: str) -> Decimal:
    """A non-negative amount with at most two decimal places, from a Decimal, an int, a
    string or a float (a float is read by its shortest representation, so 1.234 stays
    1.234 and is refused rather than silently rounded)."""
    label = _LABELS.get(field, field.replace("_", " ").capitalize())
    if value is None or isinstance(value, bool):
        raise InvalidInput(f"{label}: enter a number.", field=field)
    if isinstance(value, float):
        value = Decimal(repr(value))
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            raise InvalidInput(f"{label}: enter a number.", field=field)
        if len(text) > 40:
            raise InvalidInput(f"{label}: the number is too long.", field=field)
        # Plain decimal notation in ASCII digits only: Decimal() would also take "1E1",
        # "٣" (an Arabic-Indic digit) or "1_000", none of which a person means as units.
        if not PLAIN_DECIMAL.fullmatch(text):
            raise InvalidInput(f"{label}: “{text}” is not a number.", field=field)
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise InvalidInput(f"{label}: “{text}” is not a number.", field=field) from None
    elif isinstance(value, int):
        if abs(value) >= 10**MAX_DIGITS:
            raise InvalidInput(f"{label}: the number is too large.", field=field)
        value = Decimal(value)
    elif not isinstance(value, Decimal):
        raise InvalidInput(f"{label}: enter a number.", field=field)
    if not value.is_finite():
        raise InvalidInput(f"{label}: enter a finite number.", field=field)
    if value < 0:
        raise InvalidInput(f"{label} cannot be negative.", field=field)
    if value != 0 and value.adjusted() >= MAX_DIGITS - DECIMAL_PLACES:
        raise InvalidInput(
            f"{label}: the number is too large (at most {MAX_DIGITS - DECIMAL_PLACES} digits "
            "before the decimal point).",
            field=field,
        )
    if value != 0 and value.adjusted() < -DECIMAL_PLACES:
        raise InvalidInput(f"{label}: use at most {DECIMAL_PLACES} decimal places.", field=field)
    cents = value.quantize(CENT)
    if cents != value:
        raise InvalidInput(f"{label}: use at most {DECIMAL_PLACES} decimal places.", field=field)
    return cents if cents != 0 else Decimal("0.00")


@overload
def parse_date(value, *, field: str, required: Literal[True] = True) -> datetime.date: ...
@overload
def parse_date(value, *, field: str, required: bool) -> datetime.date | None: ...
def parse_date(value, *, field: str, required: bool = True) -> datetime.date | None:
    label = _LABELS.get(field, field)
    if value is None or value == "":
        if required:
            raise InvalidInput(f"{label} is required.", field=field)
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise InvalidInput(f"{label}: enter a valid date (YYYY-MM-DD).", field=field)


def _text(value, *, field: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput("Enter text.", field=field)
    if "\x00" in value:
        raise InvalidInput("Null characters are not allowed.", field=field)
    return value.strip()


def _choice(value, choices, *, field: str, what: str) -> str:
    allowed = [c for c, _ in choices]
    if not isinstance(value, str) or value.strip() not in allowed:
        shown = str(value)[:40] if value is not None else ""
        raise InvalidInput(
            f"Unknown {what} “{shown}”. Choose one of: {', '.join(allowed)}.", field=field
        )
    return value.strip()


def _currency(value) -> str:
    code = value.strip().upper() if isinstance(value, str) else None
    if code not in CURRENCIES:
        shown = str(value)[:10] if value is not None else ""
        raise InvalidInput(f"Unknown currency “{shown}”.", field="currency")
    return code


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
        "name": lambda v: _text(v, field="name"),
        "start_date": lambda v: parse_date(v, field="start_date"),
        "end_date": lambda v: parse_date(v, field="end_date", required=False),
        "billing_frequency": lambda v: _choice(
            v, BillingFrequency.choices, field="billing_frequency", what="billing frequency"
        ),
        "currency": _currency,
        "status": lambda v: _choice(v, ContractStatus.choices, field="status", what="status"),
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
    parsed: dict[str, str | Decimal | None] = {}
    for field in SERVICE_FIELDS:
        if field not in changes:
            continue
        before = len(errors.errors)
        value: str | Decimal | None
        if field in ("unit_price", "units"):
            value = errors.read(parse_decimal, changes[field], field=field)
        else:
            value = errors.read(_text, changes[field], field=field)
        if len(errors.errors) == before:
            parsed[field] = value
    return parsed


def _new_service(contract: Contract, fields: dict) -> Service:
    """A new service of `contract` from the fields given, checked: every invalid field
    is named in one InvalidInput."""
    errors = FieldErrors()
    parsed = _parse_service_fields(fields, errors)
    service = Service(company_id=contract.company_id, contract=contract, **parsed)
    errors.full_clean(service)
    errors.raise_if_any()
    return service


def service_check(*, contract: Contract, **fields) -> None:
    """Check a new service's fields without saving (as service_create would)."""
    _new_service(contract, {k: v for k, v in fields.items() if k in SERVICE_FIELDS})


def service_create(
    *, contract: Contract, actor, name: str, unit_price, units, description: str = ""
) -> Service:
    service = _new_service(
        contract,
        {"name": name, "description": description, "unit_price": unit_price, "units": units},
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


def service_delete(*, service: Service, actor) -> None:
    # The unit history goes with the service (the model cascades). Invoices record the
    # units they used, so a finalized invoice stays explained.
    with transaction.atomic():
        lock_service(service).delete()
