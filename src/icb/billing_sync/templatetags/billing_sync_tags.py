"""The Integrated Customer Billing sections of the contract pages, rendered by this app
so the contracts app needs no knowledge of them (`{% load billing_sync_tags %}`):

    {% icb_tab service ... %}             the ICB tab of the service form (or, with
                                          contract=..., of the Add Service window)
    {% icb_sync_panel service %}          the sync state with Sync now and Stop buttons
    {% icb_mapped_modules contract services as mapped %}
    {% icb_billing_cells service mapped %}   the Billing, Last Sync and Next Sync cells
                                             of a row of the contract's services
    {% icb_sync_breakdowns changes as breakdowns %}   the quantities behind a page of
                                             unit history rows' synced numbers, by row id
    {% icb_sync_breakdown breakdown %}    one of them, a collapsed table (also on the
                                          sync run page)
"""

from django import template
from django.urls import reverse

from icb.contracts.models import Contract, Service, ServiceUnitChange
from icb.hub import selectors as hub_selectors
from icb.hub import services as hub_services
from icb.hub.models import HubState
from icb.hub.templatetags.hub_tags import page_connection
from icb.tenancy.models import Area, Level
from icb.tenancy.permissions import allows

from .. import selectors
from ..services import NOT_MAPPED_MESSAGE

register = template.Library()


def _mapped_modules(request, account_id: int) -> set[int]:
    """The modules the account has organizations mapped in, read once per request (the
    service window's panel and its tab both show them)."""
    cache = request.__dict__.setdefault("_icb_mapped_modules", {})
    if account_id not in cache:
        cache[account_id] = selectors.mapped_module_ids(
            company=request.company, account_id=account_id
        )
    return cache[account_id]


def mapping_link(account_id: int) -> str:
    return reverse("crm:detail", args=[account_id]) + "?tab=icb#itc-integrations-mapping"


def icb_tab_context(
    request,
    contract: Contract,
    service: Service | None = None,
    *,
    module: str | None = None,
    billing_type: str | None = None,
    error: str = "",
) -> dict:
    """What the Integrated Customer Billing tab of a service (or of the Add Service
    window, without a service) needs. `module`/`billing_type`: the codes to show as
    chosen (a re-rendered form's input), else the service's own."""
    connected = page_connection(request) is not None
    context = {
        "connected": connected,
        "hub_name": hub_services.hub_name(),
        "not_mapped_message": NOT_MAPPED_MESSAGE,
        "error": error,
        "is_admin": request.user.is_administrator,
        "mapping_url": mapping_link(contract.account_id),
        "can_modify": allows(request.user, Area.CONTRACTS, Level.MODIFY),
        "can_preview": allows(request.user, Area.BILLING_REVIEW, Level.VIEW),
    }
    if not connected:
        if service is not None and service.is_icb:
            # Billed by ICB still: say so, and how to go back to manual billing.
            context["billed_by"] = " · ".join(
                str(part) for part in (service.icb_module, service.icb_billing_type) if part
            )
        return context
    modules = hub_selectors.module_list(company=request.company)
    mapped_ids = _mapped_modules(request, contract.account_id)
    if module is None and service is not None and service.is_icb and service.icb_module:
        module = service.icb_module.code
        kind = service.icb_billing_type
        billing_type = kind.code if kind is not None else ""
    module = module or ""
    context.update(
        modules=modules,
        module=module,
        billing_type=billing_type or "",
        mapped_codes=[m.code for m in modules if m.pk in mapped_ids],
        module_mapped=any(m.code == module and m.pk in mapped_ids for m in modules),
    )
    return context


@register.inclusion_tag("billing_sync/_icb_tab.html", takes_context=True)
def icb_tab(
    context,
    service: Service | None = None,
    *,
    contract: Contract | None = None,
    module: str | None = None,
    billing_type: str | None = None,
    error: str = "",
    selected: bool = False,
) -> dict:
    """The ICB tab panel: Module, then Billing Type, with a warning while the account
    has no organization mapped in the chosen module. `module`, `billing_type`, `error`:
    a re-rendered form's input and the refusal to show; `selected`: the open tab."""
    if contract is None:
        assert service is not None, "icb_tab needs a service or a contract"
        contract = service.contract
    icb = icb_tab_context(
        context["request"],
        contract,
        service,
        module=module,
        billing_type=billing_type,
        error=error,
    )
    return {"icb": icb, "selected": selected}


@register.inclusion_tag("billing_sync/_icb_sync_panel.html", takes_context=True)
def icb_sync_panel(context, service: Service) -> dict:
    """An ICB service's sync state (Last Sync, Next Sync) and its Sync now and Stop
    buttons (for those who may modify contracts); nothing for a manual service. While
    the hub is disconnected: the last sync as known, no next sync (and why), no Sync
    now; Stop always, so the service can go back to manual billing. While it is broken
    (the hub refused its tokens): no next sync until it is reconnected."""
    request = context["request"]
    display = None
    connected = broken = False
    if service.is_icb:
        mapped = _mapped_modules(request, service.contract.account_id)
        display = selectors.icb_display(service, mapped)
        connection = page_connection(request)
        connected = connection is not None
        broken = connected and connection.state == HubState.BROKEN
    return {
        "service": service,
        "contract": service.contract,
        "display": display,
        "hub_connected": connected,
        "hub_broken": broken,
        "hub_name": hub_services.hub_name(),
        "is_admin": request.user.is_administrator,
        "can_modify": allows(request.user, Area.CONTRACTS, Level.MODIFY),
        "can_preview": allows(request.user, Area.BILLING_REVIEW, Level.VIEW),
    }


@register.simple_tag(takes_context=True)
def icb_mapped_modules(context, contract: Contract, services) -> set[int]:
    """The modules in which the contract's account has an organization mapped; no query
    when none of `services` is billed by ICB."""
    if not any(service.is_icb for service in services):
        return set()
    return selectors.mapped_module_ids(
        company=context["request"].company, account_id=contract.account_id
    )


@register.inclusion_tag("billing_sync/_icb_billing_cells.html")
def icb_billing_cells(service: Service, mapped_modules: set[int]) -> dict:
    return {"service": service, "display": selectors.icb_display(service, mapped_modules)}


@register.simple_tag(takes_context=True)
def icb_sync_breakdowns(
    context, changes: list[ServiceUnitChange]
) -> dict[int, selectors.SyncBreakdown]:
    """The breakdowns of a page of unit history rows, by row id: read at once for the page
    (selectors.sync_breakdowns), never per row."""
    return selectors.sync_breakdowns(company=context["request"].company, changes=changes)


@register.inclusion_tag("billing_sync/_sync_breakdown.html")
def icb_sync_breakdown(breakdown: selectors.SyncBreakdown | None) -> dict:
    """The organizations and quantities behind a synced number, with their total, in a
    <details> (collapsed on screen, open in print); nothing without a breakdown."""
    return {"breakdown": breakdown}
