"""Finance > Contracts > a service's page: edit, end or delete it, with its unit
history. Thin, like views.py, whose helpers for the ICB choice it shares."""

from django.contrib import messages
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from icb.billing_sync import services as icb_services
from icb.common.errors import Conflict, InvalidInput, ServiceError
from icb.common.forms import add_service_errors, apply_errors
from icb.common.pagination import paginate
from icb.tenancy.models import Area
from icb.tenancy.permissions import area_required

from . import selectors, services
from .forms import ServiceForm
from .views import _can_modify, _first_sync, _icb_choice_error, _posted_icb

HISTORY_PAGE_SIZE = 25


def _service_initial(service) -> dict:
    return {
        "name": service.name,
        "unit_price": service.unit_price,
        "units": service.units,
        "description": service.description,
        "start_date": service.start_date,
        "end_date": service.end_date,
        "revenue_account_code": service.revenue_account_code,
    }


def _service_or_404(request, contract_id, service_id):
    return selectors.service_get(
        company=request.company, service_id=service_id, contract_id=contract_id
    )


def _lock_units(form, service) -> None:
    """While ICB is active the units come from the sync: shown, not editable."""
    if service.is_icb:
        form.fields["units"].disabled = True
        form.fields.pop("effective_date", None)
        form.fields[
            "units"
        ].help_text = "Synced by Integrated Customer Billing; stop it to edit the units by hand."


def _render_service(
    request,
    service,
    *,
    form=None,
    icb_module=None,
    icb_billing_type=None,
    icb_error="",
    status=200,
):
    can_modify = _can_modify(request)
    if form is None:
        form = ServiceForm(
            initial=_service_initial(service),
            read_only=not can_modify,
            auto_id="service-%s",
            currency=service.contract.currency,
            dated=True,
        )
    _lock_units(form, service)
    deletable = not selectors.has_unit_history(service)
    history = paginate(
        selectors.service_history(service=service), request.GET.get("page"), HISTORY_PAGE_SIZE
    )
    return render(
        request,
        "contracts/service_detail.html",
        {
            "service": service,
            "contract": service.contract,
            "form": form,
            "history": history,
            "can_modify": can_modify,
            "deletable": deletable,
            "today": services.today_in(request.company),
            "icb_module": icb_module,
            "icb_billing_type": icb_billing_type,
            "icb_error": icb_error,
            "icb_selected": bool(icb_error) and not form.errors,
        },
        status=status,
    )


@area_required(Area.CONTRACTS)
@require_http_methods(["GET", "HEAD", "POST"])
def service_detail(request, contract_id, service_id):
    service = _service_or_404(request, contract_id, service_id)
    if request.method != "POST":
        return _render_service(request, service)
    form = ServiceForm(
        request.POST,
        initial=_service_initial(service),
        auto_id="service-%s",
        currency=service.contract.currency,
        dated=True,
    )
    _lock_units(form, service)
    module, billing_type = _posted_icb(request)
    icb_error = ""
    if form.is_valid():
        changes = dict(form.cleaned_data)
        if changes.get("start_date") is None:
            changes.pop("start_date", None)  # left empty: it keeps its start
        if service.is_icb:
            changes.pop("units", None)  # the sync owns them
            changes.pop("effective_date", None)
        try:
            with transaction.atomic():
                service = services.service_update(service=service, actor=request.user, **changes)
                service = icb_services.apply_icb_choice(
                    service=service, actor=request.user, module=module, billing_type=billing_type
                )
        except ServiceError as exc:
            if isinstance(exc, icb_services.IcbChoiceRefused):
                icb_error = exc.message
            else:
                apply_errors(form, exc)
                icb_error = _icb_choice_error(request, module, billing_type)
            service = _service_or_404(request, contract_id, service_id)
        else:
            messages.success(request, "The service was saved.")
            if module:
                _first_sync(request, service)
            return redirect(
                "contracts:service_detail", contract_id=contract_id, service_id=service.pk
            )
    else:
        add_service_errors(
            form, lambda values: services.service_check(contract=service.contract, **values)
        )
        icb_error = _icb_choice_error(request, module, billing_type)
    return _render_service(
        request,
        service,
        form=form,
        icb_module=module or "",
        icb_billing_type=billing_type,
        icb_error=icb_error,
    )


@area_required(Area.CONTRACTS)
@require_POST
def service_delete(request, contract_id, service_id):
    service = _service_or_404(request, contract_id, service_id)
    name = service.name
    try:
        services.service_delete(service=service, actor=request.user)
    except Conflict as exc:
        messages.error(request, exc.message)
        return _render_service(request, service, status=409)
    messages.success(request, f"Service “{name}” was deleted.")
    return redirect(reverse("contracts:detail", args=[contract_id]) + "?tab=billing")


@area_required(Area.CONTRACTS)
@require_POST
def service_end(request, contract_id, service_id):
    """End a service that cannot be deleted: it stays, with its history."""
    service = _service_or_404(request, contract_id, service_id)
    try:
        service = services.service_end(
            service=service, actor=request.user, end_date=request.POST.get("end_date", "")
        )
    except InvalidInput as exc:
        messages.error(request, exc.message)  # shown on the service page, nothing changed
    else:
        messages.success(request, f"Service “{service.name}” ends on {service.end_date:%Y-%m-%d}.")
    return redirect("contracts:service_detail", contract_id=contract_id, service_id=service.pk)
