"""Admin > CRM > Accounts pages (thin: parse the form, call a service, render)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render

from icb.common.errors import ServiceError
from icb.common.forms import add_service_errors, apply_errors, make_read_only
from icb.common.pagination import paginate
from icb.contracts.selectors import account_contracts
from icb.tenancy.models import Area, Level
from icb.tenancy.permissions import allows, area_required

from . import selectors, services
from .forms import AccountFilterForm, AccountForm

PAGE_SIZE = 50
TABS = ("general", "icb")


def _can_modify(request) -> bool:
    return allows(request.user, Area.CRM_ACCOUNTS, Level.MODIFY)


@area_required(Area.CRM_ACCOUNTS)
def account_list(request):
    filter_form = AccountFilterForm(request.GET)
    qs = selectors.account_list(company=request.company, **filter_form.filters().selector_kwargs())
    page = paginate(qs, request.GET.get("page"), PAGE_SIZE)
    return render(
        request,
        "crm/account_list.html",
        {
            "filter_form": filter_form,
            "page": page,
            "can_modify": _can_modify(request),
        },
    )


@area_required(Area.CRM_ACCOUNTS)
def account_create(request):
    if not _can_modify(request):
        raise PermissionDenied("Your role does not allow this (CRM Accounts).")
    form = AccountForm(request.POST or None, company=request.company)
    if request.method == "POST" and form.is_valid():
        try:
            account = services.account_create(
                company=request.company, actor=request.user, **form.cleaned_data
            )
        except ServiceError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"Account “{account.name}” created.")
            return redirect("crm:detail", account_id=account.pk)
    elif request.method == "POST":
        add_service_errors(
            form, lambda values: services.account_check(company=request.company, **values)
        )
    return render(request, "crm/account_form.html", {"form": form})


@area_required(Area.CRM_ACCOUNTS)
def account_detail(request, account_id: int):
    account = selectors.account_get(company=request.company, account_id=account_id)
    can_modify = _can_modify(request)
    if request.method == "POST":
        form = AccountForm.for_account(account, request.POST, company=request.company)
        if form.is_valid():
            try:
                services.account_update(account=account, actor=request.user, **form.cleaned_data)
            except ServiceError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, f"Account “{account.name}” saved.")
                return redirect("crm:detail", account_id=account.pk)
        else:
            add_service_errors(
                form,
                lambda values: services.account_check(
                    company=request.company, account=account, **values
                ),
            )
    else:
        form = AccountForm.for_account(account, company=request.company)
    if not can_modify:
        make_read_only(form)
    tab = request.GET.get("tab")
    return render(
        request,
        "crm/account_detail.html",
        {
            "account": account,
            "form": form,
            "can_modify": can_modify,
            "contracts": account_contracts(account=account),
            "active_tab": tab if tab in TABS and request.method != "POST" else "general",
        },
    )
