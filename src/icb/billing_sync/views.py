"""Pages of Integrated Customer Billing: the sync history (runs and their services), the
sync and stop buttons of a service, and the context of a service's Integrated Customer
Billing tab (used by the contract pages). Thin: the rules are in services.py."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from icb.common.errors import ServiceError
from icb.common.pagination import paginate
from icb.contracts import selectors as contract_selectors
from icb.hub import selectors as hub_selectors
from icb.hub import services as hub_services
from icb.tenancy.models import Area, Level
from icb.tenancy.permissions import allows, area_required

from . import services

RUNS_PAGE_SIZE = 25
ITEMS_PAGE_SIZE = 100


def mapping_link(account_id: int) -> str:
    return reverse("crm:detail", args=[account_id]) + "?tab=icb#itc-integrations-mapping"


def icb_tab_context(
    request, contract, service=None, *, module=None, billing_type=None, error: str = ""
) -> dict:
    """What the Integrated Customer Billing tab of a service (or of the Add Service
    window, without a service) needs. `module`/`billing_type`: the codes to show as
    chosen (a re-rendered form's input), else the service's own."""
    connected = hub_services.is_connected(request.company)
    context = {
        "connected": connected,
        "hub_name": hub_services.hub_name(),
        "not_mapped_message": services.NOT_MAPPED_MESSAGE,
        "error": error,
        "is_admin": request.user.is_administrator,
        "mapping_url": mapping_link(contract.account_id),
        "can_modify": allows(request.user, Area.CONTRACTS, Level.MODIFY),
    }
    if not connected:
        return context
    modules = hub_selectors.module_list(company=request.company)
    mapped_ids = services.mapped_module_ids(company=request.company, account_id=contract.account_id)
    if module is None and service is not None and service.is_icb and service.icb_module_id:
        module = service.icb_module.code
        billing_type = service.icb_billing_type.code if service.icb_billing_type_id else ""
    module = module or ""
    context.update(
        modules=modules,
        module=module,
        billing_type=billing_type or "",
        mapped_codes=[m.code for m in modules if m.pk in mapped_ids],
        module_mapped=any(m.code == module and m.pk in mapped_ids for m in modules),
        display=services.icb_display(service, mapped_ids) if service is not None else None,
    )
    return context


def _service(request, contract_id, service_id):
    return contract_selectors.service_get(
        company=request.company, service_id=service_id, contract_id=contract_id
    )


def _back(contract_id, service_id):
    return redirect("contracts:service_detail", contract_id=contract_id, service_id=service_id)


@area_required(Area.CONTRACTS)
@require_POST
def service_sync(request, contract_id, service_id):
    service = _service(request, contract_id, service_id)
    try:
        service = services.sync_now(service=service, actor=request.user)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return _back(contract_id, service_id)
    display = services.icb_display(service)
    if display["state"] == "ok":
        messages.success(request, f"Synced: {service.units} units.")
    elif display["state"] == "mapping_incomplete":
        messages.warning(request, "Mapping Settings Incomplete: nothing to sync yet.")
    else:
        messages.error(request, f"The sync failed: {display['message']} Units were kept.")
    return _back(contract_id, service_id)


@area_required(Area.CONTRACTS)
@require_POST
def service_stop(request, contract_id, service_id):
    service = _service(request, contract_id, service_id)
    services.stop_icb(service=service, actor=request.user)
    messages.success(
        request,
        "Integrated Customer Billing was stopped. The units were kept "
        "and are billed manually again.",
    )
    return _back(contract_id, service_id)


@area_required(Area.CONTRACTS)
def run_list(request):
    page = paginate(
        services.run_list(company=request.company), request.GET.get("page"), RUNS_PAGE_SIZE
    )
    return render(request, "billing_sync/run_list.html", {"page": page})


@area_required(Area.CONTRACTS)
def run_detail(request, run_id):
    run = services.run_get(company=request.company, run_id=run_id)
    status = request.GET.get("status", "")
    items = services.run_items(run, status=status)
    page = paginate(items, request.GET.get("page"), ITEMS_PAGE_SIZE)
    return render(
        request, "billing_sync/run_detail.html", {"run": run, "page": page, "status": status}
    )
