"""Validation shared by every app's services."""

import re
from collections.abc import Callable
from decimal import Decimal
from typing import TypeVar

from django.core.exceptions import ValidationError

from .errors import InvalidInput

# Ids are 64-bit; a larger number names nothing (and must not reach the database).
MAX_ID = 2**63 - 1


def _validation_to_invalid(exc: ValidationError) -> InvalidInput:
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    first = next(iter(errors.values()))[0]
    return InvalidInput(first, errors=errors)


def full_clean_or_raise(instance, **kwargs) -> None:
    """Model invariants are the one source of validation rules for forms and API alike."""
    try:
        instance.full_clean(**kwargs)
    except ValidationError as exc:
        raise _validation_to_invalid(exc) from None


T = TypeVar("T")


class FieldErrors:
    """The messages of every invalid field of one input, so a single answer names them
    all (a form then marks every field at once, not one per submit). Read each field
    with `read`, check the model with `full_clean`, then `raise_if_any`."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, exc: InvalidInput) -> None:
        for field, messages in exc.field_errors.items():
            self.errors.setdefault(field, []).extend(messages)

    def read(self, parse: Callable[..., T], *args, **kwargs) -> T | None:
        """parse(*args, **kwargs), or None with its messages kept."""
        try:
            return parse(*args, **kwargs)
        except InvalidInput as exc:
            self.add(exc)
            return None

    def full_clean(self, instance, **kwargs) -> None:
        """The model's own rules, on the fields that parsed (a field already refused is
        left out: its value is not the one given)."""
        exclude = {*kwargs.pop("exclude", ()), *self.errors}
        try:
            full_clean_or_raise(instance, exclude=sorted(exclude), **kwargs)
        except InvalidInput as exc:
            for field, messages in exc.errors.items():
                known = self.errors.setdefault(field, [])
                known.extend(m for m in messages if m not in known)

    def raise_if_any(self) -> None:
        if self.errors:
            first = next(iter(self.errors.values()))[0]
            raise InvalidInput(first, errors=self.errors)


def parse_id(value) -> int | None:
    """A posted id as the database can hold it (ASCII digits, 1..MAX_ID), else None."""
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


PERCENT_TEXT = re.compile(r"[0-9]{1,3}(\.[0-9]{1,3})?", re.ASCII)


def parse_percent(value, *, field: str, label: str) -> Decimal | None:
    """A percentage from 0 to 100 with at most three decimals ("8.875"), or None for
    null or empty (the company's default)."""
    if value is None or value == "":
        return None
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        text = str(value)
    elif isinstance(value, float):
        text = repr(value)
    elif isinstance(value, str):
        text = value.strip().removesuffix("%").strip()
    else:
        text = ""
    if not PERCENT_TEXT.fullmatch(text) or Decimal(text) > 100:
        raise InvalidInput(
            f"{label}: enter a percentage from 0 to 100 with at most three decimals.",
            field=field,
        )
    return Decimal(text)
