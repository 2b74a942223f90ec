"""API of the organization mapping (permission area "Hub Settings"): the grid, one
account's mappings, atomic saves of the page's changes, the column choice, the picker's
organizations and the change history. Thin: parse, check the permission, call."""

from datetime import datetime

from django.conf import settings
from ninja import Body, Field, Query, Router, Schema

from icb.common.errors import InvalidInput
from icb.common.pagination import MAX_PAGE_SIZE, paginate_by_ids
from icb.common.schemas import CursorPage, Id, Page
from icb.crm.api import AccountRef
from icb.crm.filters import AccountFilter
from icb.crm.selectors import account_get
from icb.hub.api import OrganizationOut
from icb.hub.selectors import module_get
from icb.tenancy.models import Area, Level
from icb.tenancy.permissions import require, require_administrator

from . import selectors, services

router = Router(tags=["mapping"])


class MappedAccount(AccountRef):
    """An account as the mapping shows it: with whether it is active."""

    active: bool


class GridRow(Schema):
    account: MappedAccount
    mappings: dict[str, list[OrganizationOut]]


class GridOut(Page[GridRow]):
    modules: list[str]


class GridQuery(Schema):
    modules: str | None = Field(
        None,
        max_length=400,
        description="Module codes, comma-separated, at most three; default: the user's "
        "chosen columns.",
    )
    page: int = Field(1, ge=1)


class CellChangeIn(Schema):
    account_id: Id = Field(..., ge=1)
    module: str = Field(..., min_length=1, max_length=64)
    add: list[str] = Field(default_factory=list, max_length=services.MAX_PER_CELL)
    remove: list[str] = Field(default_factory=list, max_length=services.MAX_PER_CELL)


class ChangesIn(Schema):
    changes: list[CellChangeIn] = Field(..., max_length=services.MAX_CELLS)


class ChangesOut(Schema):
    items: list[GridRow]


class ColumnsIn(Schema):
    modules: list[str] = Field(..., max_length=20)


class ColumnsOut(Schema):
    modules: list[str]


class DefaultColumnsOut(Schema):
    modules: list[str] = Field(
        ..., description="The module columns a user who chose none sees on the mapping page."
    )
    chosen: bool = Field(
        ...,
        description="Whether an administrator chose them; if not, they are the modules with "
        "the most mappings.",
    )


class PickerOrganization(OrganizationOut):
    depth: int
    mapped_to: MappedAccount | None


class PickerPage(CursorPage[PickerOrganization]):
    pass


class ChangeOut(Schema):
    account_id: int
    account_name: str
    module: str
    module_name: str = Field(..., description="The module's name (its code if it is gone).")
    organization_id: str
    organization_name: str
    action: str
    user: str | None
    changed_at: datetime


class ChangePage(Page[ChangeOut]):
    pass


def _rows(company, account_ids: list[int]) -> list[dict]:
    """The touched accounts with their mappings in every module."""
    modules = selectors.mapping_modules(company=company)
    accounts = {a.pk: a for a in selectors.account_list(company=company).filter(pk__in=account_ids)}
    mappings = selectors.mappings_by_account(account_ids=list(accounts), modules=modules)
    return [
        {"account": selectors.account_out(accounts[pk]), "mappings": mappings[pk]}
        for pk in account_ids
        if pk in accounts
    ]


def _grid_modules(request, codes: str | None):
    modules = selectors.mapping_modules(company=request.company)
    if codes is None or not codes.strip():
        return selectors.chosen_columns(user=request.user, modules=modules)
    wanted = [c.strip() for c in codes.split(",") if c.strip()]
    if len(wanted) > selectors.MAX_COLUMNS:
        raise InvalidInput(f"Choose at most {selectors.MAX_COLUMNS} modules.", field="modules")
    by_code = {m.code: m for m in modules}
    for code in wanted:
        if code not in by_code:
            raise InvalidInput(f"Unknown module “{code}”.", field="modules")
    return [by_code[c] for c in dict.fromkeys(wanted)]


@router.get("/mappings", response=GridOut)
def mapping_grid(request, filters: Query[AccountFilter], grid: Query[GridQuery]):
    """A page of accounts (50, name order, filtered) with their organizations in the
    chosen modules (at most three)."""
    require(request.user, Area.HUB_SETTINGS, Level.VIEW)
    modules = _grid_modules(request, grid.modules)
    page, mappings = selectors.mapping_grid(
        company=request.company,
        modules=modules,
        page=grid.page,
        **filters.selector_kwargs(),
    )
    return {
        "modules": [m.code for m in modules],
        "items": [
            {"account": selectors.account_out(a), "mappings": mappings[a.pk]} for a in page.items
        ],
        "count": page.count,
        "page": page.page,
        "pages": page.pages,
        "page_size": page.page_size,
    }


@router.post("/mappings/changes", response=ChangesOut)
def save_changes(request, payload: ChangesIn):
    """Apply every cell change (organizations to add and to remove per account and
    module) in one transaction, or none. Answers the touched accounts' mappings."""
    require(request.user, Area.HUB_SETTINGS, Level.MODIFY)
    changes = [services.CellChange(**c.model_dump()) for c in payload.changes]
    touched = services.apply_changes(company=request.company, user=request.user, changes=changes)
    return {"items": _rows(request.company, touched)}


@router.get("/mappings/columns", response=ColumnsOut)
def get_columns(request):
    """The module columns the user sees on the mapping page."""
    require(request.user, Area.HUB_SETTINGS, Level.VIEW)
    modules = selectors.mapping_modules(company=request.company)
    return {
        "modules": [m.code for m in selectors.chosen_columns(user=request.user, modules=modules)]
    }


@router.put("/mappings/columns", response=ColumnsOut)
def put_columns(request, payload: ColumnsIn):
    """Remember the user's module columns (at most three); none means the company's
    default columns."""
    require(request.user, Area.HUB_SETTINGS, Level.VIEW)
    return {"modules": services.set_columns(user=request.user, modules=payload.modules)}


def _default_columns(company) -> dict:
    modules = selectors.mapping_modules(company=company)
    columns, chosen = selectors.company_default_columns(company=company, modules=modules)
    return {"modules": [m.code for m in columns], "chosen": chosen}


@router.get("/mappings/columns/default", response=DefaultColumnsOut)
def get_default_columns(request):
    """The company's default module columns: those an administrator chose, else the
    three modules with the most mappings."""
    require(request.user, Area.HUB_SETTINGS, Level.VIEW)
    return _default_columns(request.company)


@router.put("/mappings/columns/default", response=DefaultColumnsOut)
def put_default_columns(request, payload: ColumnsIn):
    """Set the company's default module columns (administrators; at most three). An
    empty list goes back to the most mapped modules. A user's own choice still wins."""
    require_administrator(request.user)
    services.set_default_columns(
        company=request.company, actor=request.user, modules=payload.modules
    )
    return _default_columns(request.company)


@router.get("/mappings/organizations", response=PickerPage)
def picker_organizations(
    request,
    module: str = "",
    search: str = "",
    cursor: str | None = None,
    limit: int = Query(30, ge=1, le=100),
):
    """A module's organizations for the picker: matching the search (name or id), parents
    with their children beneath, each with the account it is mapped to."""
    require(request.user, Area.HUB_SETTINGS, Level.VIEW)
    if not module:
        raise InvalidInput("Name the module (its code).", field="module")
    found = module_get(company=request.company, code=module)
    items, next_cursor = selectors.organization_options(
        module=found, search=search.strip()[:100], cursor=cursor, limit=limit
    )
    return {"items": items, "next_cursor": next_cursor}


@router.get("/mapping-changes", response=ChangePage)
def mapping_changes(
    request,
    account_id: int | None = None,
    page: int = Query(1, ge=1),
    page_size: int = Query(settings.ICB_API_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE),
):
    """Recent mapping changes, newest first, optionally of one account."""
    require(request.user, Area.HUB_SETTINGS, Level.VIEW)
    if account_id is not None:
        account_get(company=request.company, account_id=account_id)
    result = paginate_by_ids(
        selectors.mapping_changes(company=request.company, account_id=account_id), page, page_size
    )
    names = selectors.module_names(company=request.company)
    items = [
        {
            "account_id": c.account_id,
            "account_name": c.account.name,
            "module": c.module_code,
            "module_name": names.get(c.module_code, c.module_code),
            "organization_id": c.organization_external_id,
            "organization_name": c.organization_name,
            "action": c.action,
            "user": c.user.email if c.user else None,
            "changed_at": c.changed_at,
        }
        for c in result.items
    ]
    return {
        "items": items,
        "count": result.count,
        "page": result.page,
        "pages": result.pages,
        "page_size": result.page_size,
    }


@router.get("/accounts/{account_id}/mappings", response=dict[str, list[OrganizationOut]])
def get_account_mappings(request, account_id: int):
    """The account's organizations in every module (empty lists included)."""
    require(request.user, Area.HUB_SETTINGS, Level.VIEW)
    account = account_get(company=request.company, account_id=account_id)
    return selectors.account_mappings(account=account)


@router.put("/accounts/{account_id}/mappings", response=dict[str, list[OrganizationOut]])
def put_account_mappings(request, account_id: int, payload: Body[dict[str, list[str]]]):
    """Make the account's organizations in each module named exactly those listed
    (modules not named are untouched)."""
    require(request.user, Area.HUB_SETTINGS, Level.MODIFY)
    account = account_get(company=request.company, account_id=account_id)
    services.replace_account_mappings(account=account, user=request.user, mappings=payload)
    return selectors.account_mappings(account=account)
