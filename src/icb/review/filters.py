"""The filters of the held changes, declared once: the Billing review page and the API
(`GET /held-changes`, and the `filter` of a bulk decision) parse this."""

from decimal import Decimal
from typing import Literal

from pydantic import Field

from icb.billing_sync.models import HeldStatus, HoldRule
from icb.common.filters import ListFilter


class HeldFilter(ListFilter):
    status: HeldStatus = Field(
        HeldStatus.PENDING,
        description="pending (the default), approved, dismissed, adjusted or withdrawn",
    )
    module: str = Field("", max_length=64, description="Only this module's (its code).")
    account_id: int | None = Field(None, ge=1, description="Only this account's services.")
    service_id: int | None = Field(None, ge=1, description="Only this service's.")
    direction: Literal["up", "down"] | None = Field(
        None, description="up: more units proposed; down: fewer"
    )
    rule: HoldRule | None = Field(None, description="Only changes held by this rule.")
    min_impact: Decimal | None = Field(
        None,
        ge=0,
        max_digits=14,
        decimal_places=2,
        description="Size: only changes whose monthly impact (Δ units × unit price) is at "
        "least this much, up or down.",
    )


class AccountOptionFilter(ListFilter):
    q: str = Field("", max_length=200, description="The account's name or code contains.")
