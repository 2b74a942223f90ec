"""API: the hub connection's state, disconnect, directory refresh, modules, organizations."""

from datetime import datetime
from typing import Literal

from django.core.exceptions import PermissionDenied
from ninja import Field, Router, Schema

from icb.common.errors import UpstreamError
from icb.common.schemas import CursorPage
from icb.tenancy.models import Area, Level
from icb.tenancy.permissions import allows, require, require_administrator

from . import selectors, services
from .errors import HubError
from .models import HubState

router = Router(tags=["hub"])


class HubOut(Schema):
    state: Literal["connected", "broken", "disconnected"] = Field(
        description="connected; broken: the hub refused the connection's tokens (the "
        "reason is last_error), syncing waits until an administrator reconnects; "
        "disconnected: no connection"
    )
    connected: bool = Field(description='state == "connected"')
    hub_name: str
    connected_at: datetime | None = None
    connected_by: str | None = None
    last_directory_refresh: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None


class BillingTypeOut(Schema):
    code: str
    name: str
    unit: str


class ModuleOut(Schema):
    code: str
    name: str
    billing_types: list[BillingTypeOut]


class OrganizationOut(Schema):
    id: str
    name: str
    parent_id: str | None
    status: str
    removed: bool


class OrganizationPage(CursorPage[OrganizationOut]):
    pass


def _require_directory_reader(user) -> None:
    """Modules and organizations are read by the mapping page and the service window."""
    if not (
        allows(user, Area.HUB_SETTINGS, Level.VIEW) or allows(user, Area.CONTRACTS, Level.VIEW)
    ):
        raise PermissionDenied("Your role does not allow reading the hub's directory.")


def _hub_state(company) -> dict:
    connection = services.connection_of(company)
    if connection is None:
        return {
            "state": HubState.DISCONNECTED,
            "connected": False,
            "hub_name": services.hub_name(),
        }
    return {
        "state": connection.state,
        "connected": connection.state == HubState.CONNECTED,
        "hub_name": services.hub_name(),
        "connected_at": connection.connected_at,
        "connected_by": connection.connected_by.email if connection.connected_by else None,
        "last_directory_refresh": connection.last_refresh_at,
        "last_error": connection.last_error or None,
        "last_error_at": connection.last_error_at,
    }


@router.get("/hub", response=HubOut)
def hub_state(request):
    require(request.user, Area.SECURITY, Level.VIEW)
    return _hub_state(request.company)


@router.post("/hub/disconnect", response=HubOut)
def hub_disconnect(request):
    require_administrator(request.user)
    services.disconnect(company=request.company)
    return _hub_state(request.company)


@router.post("/hub/refresh", response={200: HubOut, 502: dict})
def hub_refresh(request):
    require_administrator(request.user)
    try:
        services.refresh_directory(company=request.company)
    except HubError as exc:
        raise UpstreamError(
            f"Refresh failed: {exc.message} The previous directory is kept."
        ) from None
    return _hub_state(request.company)


@router.get("/modules", response=list[ModuleOut])
def modules(request):
    _require_directory_reader(request.user)
    return selectors.module_list(company=request.company)


@router.get("/modules/{code}/organizations", response=OrganizationPage)
def organizations(
    request,
    code: str,
    search: str = "",
    parent: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
):
    _require_directory_reader(request.user)
    module = selectors.module_get(company=request.company, code=code)
    page, next_cursor = selectors.organization_search(
        module=module, search=search.strip()[:100], parent=parent, cursor=cursor, limit=limit
    )
    return {"items": [_org_out(o) for o in page], "next_cursor": next_cursor}


def _org_out(org) -> dict:
    return {
        "id": org.external_id,
        "name": org.name,
        "parent_id": org.parent_external_id or None,
        "status": org.status,
        "removed": org.removed_at is not None,
    }
