"""API schemas of Integrated Customer Billing that another app's API answers too: the
quantities behind a synced number (`selectors.SyncBreakdown`), on a unit history row
(contracts) and on a sync run's changed service (here)."""

import datetime
from typing import Annotated

from ninja import Field, Schema
from pydantic import WithJsonSchema

from icb.common.schemas import DecimalOut

# A hub quantity as a decimal string with at least two places ("23.00", "2.125"): never
# rounded, so the sum is the hub's own.
QuantityOut = Annotated[
    str,
    WithJsonSchema({"type": "string", "pattern": r"^\d+\.\d{2,}$", "examples": ["23.00", "2.125"]}),
]


class BreakdownOrganizationOut(Schema):
    organization_id: str = Field(..., description="the organization's id at the hub")
    name: str | None = Field(
        ..., description="its name in the stored directory; null: no longer in the directory"
    )
    removed: bool = Field(
        ..., description="still in the directory, but gone from the hub at its last refresh"
    )
    parent_id: str | None = Field(..., description="the parent's id at the hub, if any")
    parent_name: str | None = Field(
        ..., description="the parent's name; null without a parent or when it left the directory"
    )
    quantity: QuantityOut = Field(..., description="its own quantity of the billing type")
    measured_at: datetime.datetime | None = Field(..., description="when the hub measured it (UTC)")

    @staticmethod
    def resolve_quantity(obj) -> str:
        return obj.quantity_shown


class SyncBreakdownOut(Schema):
    """Why a sync set these units: each mapped organization's own quantity, and the sum."""

    module: str = Field(..., description="the module code")
    module_name: str | None
    billing_type: str = Field(..., description="the billing type code")
    billing_type_name: str | None
    unit: str = Field(..., description="what the quantities count, e.g. devices")
    organizations: list[BreakdownOrganizationOut]
    total: DecimalOut = Field(
        ..., description="the sum of the quantities, rounded to the cent: the new units"
    )

    @staticmethod
    def resolve_total(obj) -> str:
        return str(obj.total)  # already to the cent
