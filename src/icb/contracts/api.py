"""Contracts, services and unit history over JSON. Thin: parse, check the permission,
call a service or selector, answer with a schema. Money and units are decimal strings
with two places ("45.00")."""

import datetime

from django.conf import settings
from ninja import Field, Query, Router, Schema, Status

from icb.billing_sync import selectors as sync_selectors
from icb.billing_sync.schemas import SyncBreakdownOut
from icb.common.errors import InvalidInput
from icb.common.pagination import paginate
from icb.common.schemas import DecimalIn, DecimalOut, Id, Page, decimal_out
from icb.crm.api import AccountRef
from icb.tenancy.models import Area, Level
from icb.tenancy.permissions import require

from . import selectors, services
from .filters import AccountOptionFilter, ContractFilter
from .models import ContractStatus

router = Router(tags=["contracts"])

# --- schemas -------------------------------------------------------------------------


BILLING_SETTINGS = ("billing_timing", "proration", "payment_terms_days")


class ContractOverrides(Schema):
    """The contract's own billing settings; null where it uses the company's default."""

    billing_timing: str | None
    proration: str | None
    payment_terms_days: int | None


class ContractOut(Schema):
    id: int
    account: AccountRef
    name: str
    start_date: datetime.date
    end_date: datetime.date | None
    billing_frequency: str
    currency: str
    status: str
    billing_timing: str = Field(..., description="advance or arrears (in effect)")
    proration: str = Field(..., description="daily or none (in effect)")
    payment_terms_days: int = Field(..., description="days (in effect)")
    overrides: ContractOverrides
    created_at: datetime.datetime

    @staticmethod
    def resolve_billing_timing(obj, context) -> str:
        return obj.billing_in_effect(context["request"].company)["billing_timing"]

    @staticmethod
    def resolve_proration(obj, context) -> str:
        return obj.billing_in_effect(context["request"].company)["proration"]

    @staticmethod
    def resolve_payment_terms_days(obj, context) -> int:
        return obj.billing_in_effect(context["request"].company)["payment_terms_days"]

    @staticmethod
    def resolve_overrides(obj) -> dict:
        return {name: getattr(obj, name) for name in BILLING_SETTINGS}


class ContractPage(Page[ContractOut]):
    pass


class AccountOptionPage(Page[AccountRef]):
    pass


class ContractIn(Schema):
    account_id: Id
    name: str = Field(..., max_length=200)
    start_date: datetime.date
    end_date: datetime.date | None = None
    billing_frequency: str = Field(..., description="monthly, quarterly or yearly")
    currency: str = Field(..., description="ISO 4217 code, e.g. USD")
    status: str = Field(ContractStatus.ACTIVE, description="active, on_hold or ended")
    billing_timing: str | None = Field(
        None, description="advance or arrears; null: the company's default"
    )
    proration: str | None = Field(None, description="daily or none; null: the company's default")
    payment_terms_days: int | None = Field(
        None, description="0 to 365 days; null: the company's default"
    )


class ContractPatch(Schema):
    account_id: Id | None = None
    name: str | None = None
    start_date: datetime.date | None = None
    end_date: datetime.date | None = None
    billing_frequency: str | None = None
    currency: str | None = None
    status: str | None = None
    billing_timing: str | None = Field(None, description="null: back to the company's default")
    proration: str | None = Field(None, description="null: back to the company's default")
    payment_terms_days: int | None = Field(None, description="null: back to the company's default")


class ServiceIcbOut(Schema):
    """Integrated Customer Billing state of a service (times in UTC)."""

    module: str | None
    billing_type: str | None
    status: str = Field(..., description="never, ok, mapping_incomplete or error")
    message: str
    last_sync_at: datetime.datetime | None
    next_sync_at: datetime.datetime | None


class ServiceOverrides(Schema):
    """The service's own revenue account code; empty where it uses the default."""

    revenue_account_code: str


class ServiceOut(Schema):
    id: int
    contract_id: int
    name: str
    description: str
    unit_price: DecimalOut
    units: DecimalOut
    amount: DecimalOut
    currency: str
    start_date: datetime.date
    end_date: datetime.date | None
    revenue_account_code: str = Field(
        ..., description="in effect: the service's own, else its module's, else the company's"
    )
    overrides: ServiceOverrides
    updated_at: datetime.datetime
    billing_mode: str = Field(..., description="manual or icb")
    icb: ServiceIcbOut | None = Field(None, description="null while billed manually")

    @staticmethod
    def resolve_icb(obj) -> dict | None:
        if obj.billing_mode != "icb":
            return None
        return {
            "module": obj.icb_module.code if obj.icb_module_id else None,
            "billing_type": obj.icb_billing_type.code if obj.icb_billing_type_id else None,
            "status": obj.icb_status,
            "message": obj.icb_message,
            "last_sync_at": obj.last_sync_at,
            "next_sync_at": obj.next_sync_at,
        }

    @staticmethod
    def resolve_unit_price(obj) -> str:
        return decimal_out(obj.unit_price)

    @staticmethod
    def resolve_units(obj) -> str:
        return decimal_out(obj.units)

    @staticmethod
    def resolve_amount(obj) -> str:
        return decimal_out(obj.amount)

    @staticmethod
    def resolve_currency(obj) -> str:
        return obj.contract.currency

    @staticmethod
    def resolve_revenue_account_code(obj, context) -> str:
        return obj.revenue_account_in_effect(context["request"].company)

    @staticmethod
    def resolve_overrides(obj) -> dict:
        return {"revenue_account_code": obj.revenue_account_code}


class ServicePage(Page[ServiceOut]):
    pass


class ServiceIn(Schema):
    name: str
    unit_price: DecimalIn
    units: DecimalIn
    description: str = ""
    start_date: datetime.date | None = Field(
        None, description="default: today in the company's time zone (or the contract's start)"
    )
    end_date: datetime.date | None = Field(None, description="its last day billed")
    revenue_account_code: str = Field("", max_length=40, description="empty: the default")


class ServicePatch(Schema):
    name: str | None = None
    unit_price: DecimalIn = None
    units: DecimalIn = None
    description: str | None = None
    effective_date: datetime.date | None = Field(
        None,
        description="the day a change of `units` counts from (default today in the "
        "company's time zone; not in the future, not before the contract's start)",
    )
    start_date: datetime.date | None = None
    end_date: datetime.date | None = Field(None, description="null: no end")
    revenue_account_code: str | None = Field(None, max_length=40)


class UnitChangeOut(Schema):
    id: int
    old_units: DecimalOut | None
    new_units: DecimalOut
    changed_at: datetime.datetime
    effective_date: datetime.date
    source: str
    note: str
    user: str | None
    sync_run_id: int | None
    detail: dict
    breakdown: SyncBreakdownOut | None = Field(
        None,
        description="a sync's change: the organizations' quantities behind `new_units`, "
        "named from the directory as it is now (null for other changes)",
    )

    @staticmethod
    def resolve_breakdown(obj):
        return getattr(obj, "breakdown", None)

    @staticmethod
    def resolve_old_units(obj) -> str | None:
        return decimal_out(obj.old_units)

    @staticmethod
    def resolve_new_units(obj) -> str:
        return decimal_out(obj.new_units)

    @staticmethod
    def resolve_user(obj) -> str | None:
        return obj.user.email if obj.user_id else None


class UnitChangePage(Page[UnitChangeOut]):
    pass


# --- helpers -------------------------------------------------------------------------


def _page(queryset, page, page_size):
    return paginate(queryset, page, page_size or settings.ICB_API_PAGE_SIZE)


def _changes(payload: Schema) -> dict:
    changes = payload.dict(exclude_unset=True)
    if not changes:
        raise InvalidInput("Nothing to change: send at least one field.", field="body")
    return changes


# --- contracts -----------------------------------------------------------------------


@router.get("/contracts", response=ContractPage, summary="List contracts")
def list_contracts(
    request,
    filters: Query[ContractFilter],
    page: int = 1,
    page_size: int | None = None,
):
    """Filter by a search on account name or code (`q`), `account_id` and `status`."""
    require(request.user, Area.CONTRACTS, Level.VIEW)
    contracts = selectors.contract_list(company=request.company, **filters.selector_kwargs())
    return _page(contracts, page, page_size)


@router.get(
    "/contracts/account-options",
    response=AccountOptionPage,
    summary="Accounts a contract may be given",
)
def list_account_options(
    request,
    filters: Query[AccountOptionFilter],
    page: int = 1,
    page_size: int | None = None,
):
    """The active accounts, in name order, whose name or code contains `q`: what the
    contract form's account box searches as you type. Needs only the contracts level
    (the accounts list needs CRM Accounts)."""
    require(request.user, Area.CONTRACTS, Level.VIEW)
    accounts = selectors.account_options(company=request.company, **filters.selector_kwargs())
    return _page(accounts, page, page_size)


@router.post("/contracts", response={201: ContractOut}, summary="Create a contract")
def create_contract(request, payload: ContractIn):
    require(request.user, Area.CONTRACTS, Level.MODIFY)
    contract = services.contract_create(
        company=request.company, actor=request.user, **payload.dict()
    )
    return Status(201, contract)


@router.get("/contracts/{contract_id}", response=ContractOut, summary="Get a contract")
def get_contract(request, contract_id: int):
    require(request.user, Area.CONTRACTS, Level.VIEW)
    return selectors.contract_get(company=request.company, contract_id=contract_id)


@router.patch("/contracts/{contract_id}", response=ContractOut, summary="Change a contract")
def update_contract(request, contract_id: int, payload: ContractPatch):
    require(request.user, Area.CONTRACTS, Level.MODIFY)
    contract = selectors.contract_get(company=request.company, contract_id=contract_id)
    return services.contract_update(contract=contract, actor=request.user, **_changes(payload))


# --- services ------------------------------------------------------------------------


@router.get(
    "/contracts/{contract_id}/services", response=ServicePage, summary="List a contract's services"
)
def list_services(request, contract_id: int, page: int = 1, page_size: int | None = None):
    require(request.user, Area.CONTRACTS, Level.VIEW)
    contract = selectors.contract_get(company=request.company, contract_id=contract_id)
    result = _page(
        selectors.service_list(contract=contract).select_related("icb_module", "icb_billing_type"),
        page,
        page_size,
    )
    for service in result.items:
        service.contract = contract
    return result


@router.post(
    "/contracts/{contract_id}/services",
    response={201: ServiceOut},
    summary="Add a service to a contract",
)
def create_service(request, contract_id: int, payload: ServiceIn):
    require(request.user, Area.CONTRACTS, Level.MODIFY)
    contract = selectors.contract_get(company=request.company, contract_id=contract_id)
    service = services.service_create(contract=contract, actor=request.user, **payload.dict())
    return Status(201, service)


@router.get("/services/{service_id}", response=ServiceOut, summary="Get a service")
def get_service(request, service_id: int):
    require(request.user, Area.CONTRACTS, Level.VIEW)
    return selectors.service_get(company=request.company, service_id=service_id)


@router.patch("/services/{service_id}", response=ServiceOut, summary="Change a service")
def update_service(request, service_id: int, payload: ServicePatch):
    """A change of `units` is recorded in the service's unit history."""
    require(request.user, Area.CONTRACTS, Level.MODIFY)
    service = selectors.service_get(company=request.company, service_id=service_id)
    return services.service_update(service=service, actor=request.user, **_changes(payload))


@router.delete("/services/{service_id}", response={204: None}, summary="Delete a service")
def delete_service(request, service_id: int):
    """Only a service whose units never changed since it was added: one with a unit
    history is ended instead (PATCH its `end_date`), and this answers 409 `has_history`."""
    require(request.user, Area.CONTRACTS, Level.MODIFY)
    service = selectors.service_get(company=request.company, service_id=service_id)
    services.service_delete(service=service, actor=request.user)
    return Status(204, None)


@router.get(
    "/services/{service_id}/history",
    response=UnitChangePage,
    summary="A service's unit history, newest first",
)
def service_history(request, service_id: int, page: int = 1, page_size: int | None = None):
    """Each change with its old and new units, when and by whom or what. A change made by
    a sync carries its run (`sync_run_id`) and `breakdown`: each mapped organization's
    quantity, and their sum, the new units."""
    require(request.user, Area.CONTRACTS, Level.VIEW)
    service = selectors.service_get(company=request.company, service_id=service_id)
    result = _page(selectors.service_history(service=service), page, page_size)
    breakdowns = sync_selectors.sync_breakdowns(company=request.company, changes=result.items)
    for change in result.items:
        change.breakdown = breakdowns.get(change.pk)
    return result
