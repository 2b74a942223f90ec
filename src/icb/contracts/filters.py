"""The filters of the contract list, declared once: the contracts page and the API
(`GET /contracts`) both parse this, so an unknown status is refused on both; and of the
accounts a contract may be given (`GET /contracts/account-options`, which the contract
form's account box searches as you type)."""

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from icb.common.filters import ListFilter

from .models import ContractStatus


class ContractFilter(ListFilter):
    q: str = Field("", description="Search on the account's name or code, or the contract's.")
    account_id: int | None = Field(None, description="Only this account's contracts.")
    status: ContractStatus | None = Field(None, description="active, on_hold or ended")

    @field_validator("status", mode="before")
    @classmethod
    def _status(cls, value):
        # An empty value is "any status" on the page, which leaves it out before parsing;
        # the API documents only the statuses.
        if value is None:
            return None
        if value not in ContractStatus.values:
            raise PydanticCustomError(
                "status",
                "Unknown status “{value}”. Choose one of: {choices}.",
                {"value": str(value)[:40], "choices": ", ".join(ContractStatus.values)},
            )
        return ContractStatus(value)


class AccountOptionFilter(ListFilter):
    q: str = Field("", max_length=200, description="The account's name or code contains.")
