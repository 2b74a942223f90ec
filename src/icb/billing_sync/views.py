"""Pages of Integrated Customer Billing: the sync history (runs and their services), the
sync and stop buttons of a service. Thin: the rules are in services.py, the reads in
selectors.py; the ICB sections of the contract pages are template tags
(templatetags/billing_sync_tags.py)."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from icb.common.errors import ServiceError
from icb.common.pagination import paginate
from icb.contracts import selectors as contract_selectors
from icb.tenancy.models import Area
from icb.tenancy.permissions import area_required

from . import selectors, services

RUNS_PAGE_SIZE = 25
# Each change carries its quantities breakdown (about 2.3 KB of HTML with a few
# organizations): 50 keep a page near 120 KB, well under the 200 KB a page may weigh.
ITEMS_PAGE_SIZE = 50


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
    level, text = selectors.sync_result(service)
    getattr(messages, level)(request, text)
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
        selectors.run_list(company=request.company), request.GET.get("page"), RUNS_PAGE_SIZE
    )
    return render(request, "billing_sync/run_list.html", {"page": page})


@area_required(Area.CONTRACTS)
def run_detail(request, run_id):
    run = selectors.run_get(company=request.company, run_id=run_id)
    status = request.GET.get("status", "")
    items = selectors.run_items(run, status=status)
    page = paginate(items, request.GET.get("page"), ITEMS_PAGE_SIZE)
    return render(
        request, "billing_sync/run_detail.html", {"run": run, "page": page, "status": status}
    )
