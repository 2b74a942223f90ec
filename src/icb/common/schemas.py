"""API schemas shared by every app's API: one page type for every list, and money and
units as decimal strings with two places ("45.00")."""

from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar, overload

from ninja import Schema
from pydantic import StrictBool, StrictInt, WithJsonSchema

from .money import to_cents

T = TypeVar("T")


class Page(Schema, Generic[T]):
    """One page of a list (common.pagination.paginate answers it). Name each use, so the
    OpenAPI document shows a readable name: `class AccountPage(Page[AccountOut]): ...`."""

    items: list[T]
    count: int
    page: int
    pages: int
    page_size: int


class CursorPage(Schema, Generic[T]):
    """One page of a long list read in order: pass `next_cursor` back for the next page
    (null on the last one)."""

    items: list[T]
    next_cursor: str | None


# Ids and flags in a JSON body are JSON integers and booleans, as documented: pydantic's
# default (lax) mode would take `true` as the id 1, or "yes" as true.
Id = StrictInt
Flag = StrictBool

# Accepts a JSON string ("45.00", preferred) or number; the service layer decides
# (non-negative, at most two decimal places, finite, at most 10 digits before the point).
DecimalIn = Annotated[
    Any,
    WithJsonSchema(
        {
            "anyOf": [{"type": "string", "pattern": r"^\d{1,10}(\.\d{1,2})?$"}, {"type": "number"}],
            "description": "A non-negative decimal with at most two decimal places.",
        }
    ),
]
DecimalOut = Annotated[
    str,
    WithJsonSchema({"type": "string", "pattern": r"^-?\d+\.\d{2}$", "examples": ["45.00"]}),
]


@overload
def decimal_out(value: Decimal) -> str: ...
@overload
def decimal_out(value: None) -> None: ...
def decimal_out(value: Decimal | None) -> str | None:
    """A Decimal as DecimalOut ("45.00"), None as None."""
    return None if value is None else str(to_cents(value))
