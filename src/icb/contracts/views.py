"""Finance > Contracts pages. Thin: read the request, call a selector or a service,
render. Reading needs the contracts "view" level, any POST "modify" (area_required).

The Integrated Customer Billing sections of these pages are rendered by billing_sync
(its template tags); the service form's ICB choice is saved by its one service below,
the only use of the higher app here."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from icb.billing_sync import selectors as icb_selectors
from icb.billing_sync import services as icb_services
from icb.common.errors import InvalidInput, ServiceError
from icb.common.forms import add_service_errors, apply_errors
from icb.common.pagination import paginate
from icb.tenancy.models import Area, Level
from icb.tenancy.permissions import allows, area_required

from . import selectors, services
from .filters import ContractFilter
from .forms import ContractForm, ServiceForm
from .models import ContractStatus

LIST_PAGE_SIZE = 25
TABS = ("general", "billing")


def _can_modify(request) -> bool:
    return allows(request.user, Area.CONTRACTS, Level.MODIFY)


def _contract_or_404(request, contract_id):
    return selectors.contract_get(company=request.company, contract_id=contract_id)


def _contract_initial(contract) -> dict:
    return {
        "account_id": str(contract.account_id),
        "name": contract.name,
        "start_date": contract.start_date,
        "end_date": contract.end_date,
        "billing_frequency": contract.billing_frequency,
        "currency": contract.currency,
        "status": contract.status,
        "billing_timing": contract.billing_timing or "",
        "proration": contract.proration or "",
        "payment_terms_days": contract.payment_terms_days,
    }


@area_required(Area.CONTRACTS)
def contract_list(request):
    filters, filter_errors = ContractFilter.from_query(request.GET)
    contracts = selectors.contract_list(company=request.company, **filters.selector_kwargs())
    page = paginate(contracts, request.GET.get("page"), LIST_PAGE_SIZE)
    selectors.attach_totals(page.items)
    return render(
        request,
        "contracts/list.html",
        {
            "page": page,
            "q": filters.q.strip(),
            "status": filters.status or "",
            "statuses": ContractStatus.choices,
            "filter_errors": [m for messages in filter_errors.values() for m in messages],
            "can_modify": _can_modify(request),
        },
    )


@area_required(Area.CONTRACTS)
@require_http_methods(["GET", "HEAD", "POST"])
def contract_create(request):
    if not _can_modify(request):
        # A view-only user can see the list but there is nothing to fill in here.
        raise PermissionDenied("Your role does not allow creating contracts.")
    accounts = selectors.account_choices(company=request.company)
    if request.method == "POST":
        form = ContractForm(
            request.POST, accounts=accounts, auto_id="contract-%s", company=request.company
        )
        if form.is_valid():
            try:
                contract = services.contract_create(
                    company=request.company, actor=request.user, **form.cleaned_data
                )
            except InvalidInput as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, f"Contract “{contract.name}” was created.")
                return redirect("contracts:detail", contract_id=contract.pk)
        else:
            add_service_errors(
                form, lambda values: services.contract_check(company=request.company, **values)
            )
    else:
        form = ContractForm(
            accounts=accounts,
            auto_id="contract-%s",
            company=request.company,
            initial={
                "currency": request.company.currency,
                "status": ContractStatus.ACTIVE,
                "account_id": request.GET.get("account", ""),
            },
        )
    return render(
        request,
        "contracts/create.html",
        {"form": form, "has_accounts": selectors.has_account_options(company=request.company)},
    )


def _icb_choice_error(request, module: str | None, billing_type: str) -> str:
    """What the ICB tab would say of its choice, checked while the rest of the form is
    refused, so one submit names every invalid field of both tabs ("" if fine)."""
    if not module:
        return ""
    try:
        icb_services.resolve_icb_choice(
            company=request.company, module=module, billing_type=billing_type
        )
    except InvalidInput as exc:
        return exc.message
    return ""


def _posted_icb(request) -> tuple[str | None, str]:
    """The ICB tab's module (None when the tab posted none: hub not connected, or read
    only) and billing type."""
    module = request.POST.get("icb_module")
    return (
        None if module is None else module.strip()[:64],
        request.POST.get("icb_billing_type", "").strip()[:64],
    )


def _render_detail(
    request,
    contract,
    *,
    contract_form=None,
    service_form=None,
    tab=None,
    open_dialog=False,
    icb_module=None,
    icb_billing_type=None,
    icb_error="",
):
    can_modify = _can_modify(request)
    accounts = selectors.account_choices(company=request.company, include_id=contract.account_id)
    if contract_form is None:
        contract_form = ContractForm(
            initial=_contract_initial(contract),
            accounts=accounts,
            read_only=not can_modify,
            auto_id="contract-%s",
            company=request.company,
        )
    if service_form is None:
        service_form = ServiceForm(
            initial={"units": "1"}, auto_id="service-%s", currency=contract.currency
        )
    service_rows = list(
        selectors.service_list(contract=contract).select_related("icb_module", "icb_billing_type")
    )
    if tab not in TABS:
        tab = request.GET.get("tab")
    if tab not in TABS:
        tab = "general"
    return render(
        request,
        "contracts/detail.html",
        {
            "contract": contract,
            "billing_summary": selectors.billing_summary(
                contract=contract, company=request.company
            ),
            "contract_form": contract_form,
            "service_form": service_form,
            "services": service_rows,
            "total": selectors.services_total(service_rows),
            "tab": tab,
            "open_dialog": open_dialog,
            "can_modify": can_modify,
            "icb_module": icb_module,
            "icb_billing_type": icb_billing_type,
            "icb_error": icb_error,
            # The window opens on the first tab holding an error.
            "icb_selected": bool(icb_error) and not service_form.errors,
        },
    )


@area_required(Area.CONTRACTS)
@require_http_methods(["GET", "HEAD", "POST"])
def contract_detail(request, contract_id):
    contract = _contract_or_404(request, contract_id)
    if request.method != "POST":
        return _render_detail(request, contract)
    accounts = selectors.account_choices(company=request.company, include_id=contract.account_id)
    form = ContractForm(
        request.POST, accounts=accounts, auto_id="contract-%s", company=request.company
    )
    if form.is_valid():
        try:
            services.contract_update(contract=contract, actor=request.user, **form.cleaned_data)
        except InvalidInput as exc:
            apply_errors(form, exc)
            contract = _contract_or_404(request, contract_id)  # drop the rejected changes
        else:
            messages.success(request, "The contract was saved.")
            return redirect("contracts:detail", contract_id=contract.pk)
    else:
        add_service_errors(
            form,
            lambda values: services.contract_check(
                company=request.company, contract=contract, **values
            ),
        )
    return _render_detail(request, contract, contract_form=form, tab="general")


@area_required(Area.CONTRACTS)
@require_POST
def service_create(request, contract_id):
    contract = _contract_or_404(request, contract_id)
    form = ServiceForm(request.POST, auto_id="service-%s", currency=contract.currency)
    module, billing_type = _posted_icb(request)
    icb_error = ""
    if form.is_valid():
        try:
            with transaction.atomic():
                service = services.service_create(
                    contract=contract, actor=request.user, **form.cleaned_data
                )
                service = icb_services.apply_icb_choice(
                    service=service, actor=request.user, module=module, billing_type=billing_type
                )
        except icb_services.IcbChoiceRefused as exc:
            icb_error = exc.message
        except ServiceError as exc:
            apply_errors(form, exc)
            icb_error = _icb_choice_error(request, module, billing_type)
        else:
            messages.success(request, f"Service “{service.name}” was added.")
            if module:
                _first_sync(request, service)
            return redirect(reverse("contracts:detail", args=[contract.pk]) + "?tab=billing")
    else:
        add_service_errors(form, lambda values: services.service_check(contract=contract, **values))
        icb_error = _icb_choice_error(request, module, billing_type)
    return _render_detail(
        request,
        contract,
        service_form=form,
        tab="billing",
        open_dialog=True,
        icb_module=module or "",
        icb_billing_type=billing_type,
        icb_error=icb_error,
    )


def _first_sync(request, service) -> None:
    """Turning Integrated Customer Billing on (or changing its choice) syncs the service
    at once, after the form's transaction (as the sync icon does, within its time
    limit); the result is shown with the saved message."""
    synced = icb_services.sync_first(service=service, actor=request.user)
    if synced is not None:
        level, text = icb_selectors.sync_result(synced)
        getattr(messages, level)(request, text)
