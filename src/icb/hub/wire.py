"""The shapes of the hub's answers (protocol: docs/hub-protocol.md), as the hub client
(hub/client.py) validates them before anything else sees them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from pydantic import BaseModel, ConfigDict, field_validator


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
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise ValueError("quantity must be a decimal string")
        try:
            quantity = Decimal(str(value))
        except InvalidOperation:
            raise ValueError("quantity is not a number") from None
        if not quantity.is_finite() or quantity < 0:
            raise ValueError("quantity must be a finite number ≥ 0")
        return quantity


class UsagePage(_Strict):
    module: str
    usage: list[UsageRow]
    missing: list[str] = []
    next_cursor: str | None = None
