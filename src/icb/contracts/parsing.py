"""Parsing the input of contracts and services into exact types (Decimal, date, one of
a set of choices), with a message naming the field when it cannot be read."""

import datetime
import re
from decimal import Decimal, InvalidOperation
from typing import Literal, overload

from django.utils import timezone

from icb.common.errors import InvalidInput
from icb.common.money import CENT, CURRENCIES
from icb.tenancy.models import MAX_PAYMENT_TERMS_DAYS, Company

from .models import DECIMAL_PLACES, MAX_DIGITS

_LABELS = {
    "effective_date": "Effective date",
    "unit_price": "Unit price",
    "units": "Units",
    "start_date": "Start date",
    "end_date": "End date",
    "payment_terms_days": "Payment terms",
}


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


def parse_text(value, *, field: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput("Enter text.", field=field)
    if "\x00" in value:
        raise InvalidInput("Null characters are not allowed.", field=field)
    return value.strip()


def parse_choice(value, choices, *, field: str, what: str) -> str:
    allowed = [c for c, _ in choices]
    if not isinstance(value, str) or value.strip() not in allowed:
        shown = str(value)[:40] if value is not None else ""
        raise InvalidInput(
            f"Unknown {what} “{shown}”. Choose one of: {', '.join(allowed)}.", field=field
        )
    return value.strip()


def parse_setting(value, choices, *, field: str, what: str) -> str | None:
    """A billing setting: one of `choices`, or null/empty for the company's default."""
    if value is None or value == "":
        return None
    return parse_choice(value, choices, field=field, what=what)


def parse_payment_terms(value) -> int | None:
    """Days, 0 to 365, or null/empty for the company's default."""
    if value is None or value == "":
        return None
    text = (
        str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""
    )
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_PAYMENT_TERMS_DAYS:
        raise InvalidInput(
            f"Payment terms: enter a number of days from 0 to {MAX_PAYMENT_TERMS_DAYS}.",
            field="payment_terms_days",
        )
    return int(text)


def today_in(company: Company) -> datetime.date:
    """Today in the company's time zone."""
    return timezone.now().astimezone(company.zone).date()


def parse_currency(value) -> str:
    code = value.strip().upper() if isinstance(value, str) else None
    if code not in CURRENCIES:
        shown = str(value)[:10] if value is not None else ""
        raise InvalidInput(f"Unknown currency “{shown}”.", field="currency")
    return code
