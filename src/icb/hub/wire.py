"""The shapes of the hub's answers (protocol: docs/hub-protocol.md), as the hub client
(hub/client.py) validates them before anything else sees them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class BillingTypeInfo(_Strict):
    code: str
    name: str
    unit: str = ""


class ModuleInfo(_Strict):
    code: str
    name: str
    billing_types: list[BillingTypeInfo]


class ModulesPage(_Strict):
    modules: list[ModuleInfo]


class OrganizationInfo(_Strict):
    id: str
    name: str
    parent_id: str | None = None
    status: str = "active"

    @field_validator("id", "parent_id", mode="before")
    @classmethod
    def _ids_as_text(cls, value):
        return str(value) if isinstance(value, int) else value


class OrganizationsPage(_Strict):
    organizations: list[OrganizationInfo]
    next_cursor: str | None = None


class UsageRow(_Strict):
    organization_id: str
    billing_type: str
    quantity: Decimal
    measured_at: datetime

    @field_validator("quantity", mode="before")
    @classmethod
    def _exact_quantity(cls, value):
        # Floats would round; the protocol sends decimal strings (integers tolerated).
        # The messages are the reasons a person reads (UsageRow.problem).
        if value is None:
            raise ValueError("no quantity")
        if isinstance(value, float):
            raise ValueError(
                f"quantity {_shown(value)} was sent as a floating-point number, "
                "not a decimal string"
            )
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise ValueError(f"quantity {_shown(value)} is not a decimal string")
        try:
            quantity = Decimal(str(value))
        except InvalidOperation:
            raise ValueError(f"quantity {_shown(value)} is not a number") from None
        if not quantity.is_finite():
            raise ValueError(f"quantity {_shown(value)} is not finite")
        if quantity < 0:
            raise ValueError(f"quantity {_shown(value)} is negative")
        return quantity

    @classmethod
    def problem(cls, error: ValidationError, row: dict) -> str:
        """Why a row that names its organization and billing type cannot be used."""
        first = error.errors()[0]
        field = first["loc"][0] if first.get("loc") else ""
        if field == "quantity":
            if first["type"] == "missing":
                return "no quantity"
            cause = first.get("ctx", {}).get("error")
            return str(cause) if cause else f"quantity: {first['msg']}"
        if field == "measured_at" and row.get("measured_at") is not None:
            return f"measured-at {_shown(row['measured_at'])} is not a date and time"
        if field == "measured_at":
            return "no measured-at"
        return f"{field}: {first['msg']}"


class UsageRowRef(_Strict):
    """What of a usage row is the page's structure: the organization and billing type it
    counts. A row without them makes the page unreadable; a row with them whose quantity
    or measured-at is unusable spoils only itself."""

    organization_id: str
    billing_type: str


class UsagePage(_Strict):
    module: str
    usage: list[UsageRow]
    missing: list[str] = []
    next_cursor: str | None = None


class UsagePageRefs(_Strict):
    """A usage page read for its structure only (UsagePage without the rows' values)."""

    module: str
    usage: list[UsageRowRef]
    missing: list[str] = []
    next_cursor: str | None = None


def read_usage_page(body: object) -> tuple[UsagePage, dict[tuple[str, str], str]]:
    """A usage page, and its unusable rows by (organization, billing type) with the
    reason. Read at once when every row is good; otherwise read for its structure (a
    wrong structure raises ValidationError) and then row by row, so a bad row spoils only
    itself."""
    try:
        return UsagePage.model_validate(body), {}
    except ValidationError:
        pass
    refs = UsagePageRefs.model_validate(body)
    assert isinstance(body, dict)  # validated
    rows: list[UsageRow] = []
    unusable: dict[tuple[str, str], str] = {}
    for ref, raw in zip(refs.usage, body["usage"], strict=True):
        try:
            rows.append(UsageRow.model_validate(raw))
        except ValidationError as exc:
            key = (ref.organization_id, ref.billing_type)
            unusable.setdefault(key, UsageRow.problem(exc, raw))
    page = UsagePage.model_construct(
        module=refs.module, usage=rows, missing=refs.missing, next_cursor=refs.next_cursor
    )
    return page, unusable


def _shown(value: object) -> str:
    """A value of the hub's, as a reason shows it (numbers as sent, the rest quoted, cut
    short)."""
    text = value if isinstance(value, str) and _numeric(value) else repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _numeric(text: str) -> bool:
    try:
        Decimal(text)
    except InvalidOperation:
        return False
    return True
