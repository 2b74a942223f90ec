"""The filters of the account list, declared once: the accounts page and the mapping page
(their filter forms) and the API (`GET /accounts`, `GET /mappings`) all parse this."""

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from icb.common.filters import ListFilter


class AccountFilter(ListFilter):
    name: str | None = Field(None, max_length=200, description="Name contains (any case).")
    code: str | None = Field(None, max_length=40, description="Code contains (any case).")
    active: bool | None = Field(None, description="true: active only; false: inactive only.")

    @field_validator("active", mode="before")
    @classmethod
    def _active(cls, value):
        # Only what the API documents for a boolean in a query: true or false. (A page
        # leaves out an empty value before parsing: "All".)
        if isinstance(value, str):
            if value not in ("true", "false"):
                raise PydanticCustomError(
                    "active",
                    "Unknown status “{value}”: choose true (active) or false (inactive).",
                    {"value": value[:40]},
                )
            return value == "true"
        return value
