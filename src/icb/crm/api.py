"""/api/v1/accounts: list, read, create and change CRM accounts (thin: parse, check, call)."""

from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from django.conf import settings
from ninja import Field, Query, Router, Schema
from pydantic import WithJsonSchema

from icb.common.errors import ServiceError
from icb.common.pagination import MAX_PAGE_SIZE, paginate
from icb.common.schemas import Flag, Page
from icb.tenancy.models import Area, Level
from icb.tenancy.permissions import require

from . import selectors, services
from .filters import AccountFilter

router = Router(tags=["accounts"])

# A JSON string ("8.25", preferred) or number; the service decides (0 to 100, at most
# three decimals); null or "" for the company's rate.
PercentIn = Annotated[
    Any,
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": r"^\d{1,3}(\.\d{1,3})?$"},
                {"type": "number"},
                {"type": "null"},
            ],
            "description": "A percentage from 0 to 100, at most three decimals; null: the "
            "company's default.",
        }
    ),
]


def percent_out(value: Decimal) -> str:
    """8.250 → "8.25", 0 → "0"."""
    return format(value.normalize(), "f")


class AccountOverrides(Schema):
    """The account's own tax rate; null where it uses the company's."""

    tax_rate: str | None


class AccountOut(Schema):
    id: int
    name: str
    code: str
    active: bool
    email: str
    phone: str
    website: str
    address_line1: str
    address_line2: str
    city: str
    region: str
    postal_code: str
    country: str
    notes: str
    tax_rate: str = Field(..., description="percent in effect: the account's, else the company's")
    accounting_contact_name: str
    overrides: AccountOverrides
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_active(obj) -> bool:
        return obj.is_active

    @staticmethod
    def resolve_tax_rate(obj, context) -> str:
        return percent_out(obj.tax_rate_in_effect(context["request"].company))

    @staticmethod
    def resolve_overrides(obj) -> dict:
        return {"tax_rate": None if obj.tax_rate is None else percent_out(obj.tax_rate)}


class AccountPage(Page[AccountOut]):
    pass


class AccountRef(Schema):
    """An account named by another resource (a contract's account)."""

    id: int
    name: str
    code: str


class AccountIn(Schema):
    """A new account. Code: letters, digits, dots, dashes and underscores, unique in the
    company (ignoring case). Text is trimmed."""

    name: str
    code: str
    active: Flag = True
    email: str = ""
    phone: str = ""
    website: str = ""
    address_line1: str = ""
    address_line2: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = ""
    notes: str = ""
    tax_rate: PercentIn = None
    accounting_contact_name: str = ""


class AccountPatch(Schema):
    """Only the fields sent are changed."""

    name: str | None = None
    code: str | None = None
    active: Flag | None = None
    email: str | None = None
    phone: str | None = None
    website: str | None = None
    address_line1: str | None = None
    address_line2: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None
    notes: str | None = None
    tax_rate: PercentIn = None
    accounting_contact_name: str | None = None


class AccountPaging(Schema):
    page: int = Field(1, ge=1)
    page_size: int = Field(settings.ICB_API_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)


def _model_fields(data: dict) -> dict:
    """API names → model field names."""
    if "active" in data:
        data["is_active"] = data.pop("active")
    return data


@contextmanager
def _api_field_names():
    """Model field names → API names in the errors of a service."""
    try:
        yield
    except ServiceError as exc:
        if "is_active" in exc.errors:
            exc.errors["active"] = exc.errors.pop("is_active")
        raise


@router.get("/accounts", response=AccountPage)
def list_accounts(request, filters: Query[AccountFilter], paging: Query[AccountPaging]):
    """The company's accounts in name order, filtered and paginated."""
    require(request.user, Area.CRM_ACCOUNTS, Level.VIEW)
    qs = selectors.account_list(company=request.company, **filters.selector_kwargs())
    return paginate(qs, paging.page, paging.page_size)


@router.post("/accounts", response={201: AccountOut})
def create_account(request, payload: AccountIn):
    require(request.user, Area.CRM_ACCOUNTS, Level.MODIFY)
    with _api_field_names():
        # The only response declared is 201, so ninja answers with it.
        return services.account_create(
            company=request.company, actor=request.user, **_model_fields(payload.model_dump())
        )


@router.get("/accounts/{account_id}", response=AccountOut)
def get_account(request, account_id: int):
    require(request.user, Area.CRM_ACCOUNTS, Level.VIEW)
    return selectors.account_get(company=request.company, account_id=account_id)


@router.patch("/accounts/{account_id}", response=AccountOut)
def update_account(request, account_id: int, payload: AccountPatch):
    require(request.user, Area.CRM_ACCOUNTS, Level.MODIFY)
    account = selectors.account_get(company=request.company, account_id=account_id)
    with _api_field_names():
        return services.account_update(
            account=account,
            actor=request.user,
            **_model_fields(payload.model_dump(exclude_unset=True)),
        )
