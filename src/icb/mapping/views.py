"""Admin > My Company > Hub Settings: the Organization Mapping page, and the ITC
Integrations Mapping section of an account's page (rendered by the mapping_section tag).
Finance > Unmapped usage: the organizations with usage that belong to no account, and
their suggestions (accepted here by a form post).
Reads here; saving goes through the API (/api/v1/mappings/changes) from
static/mapping/mapping.js."""

from decimal import Decimal, InvalidOperation
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from icb.common.errors import InvalidInput, ServiceError
from icb.common.validation import parse_id
from icb.crm.forms import AccountFilterForm
from icb.crm.models import Account
from icb.hub.services import is_connected
from icb.tenancy.models import Area, Level
from icb.tenancy.permissions import allows, area_required, require

from . import selectors, suggestions, unmapped_selectors
from .matching import DEFAULT_CONFIDENCE
from .tasks import scan_unmapped


def _cells(account_id: int, modules, mappings: dict) -> list[dict]:
    return [{"module": m, "orgs": mappings[account_id][m.code]} for m in modules]


@require_safe
@area_required(Area.HUB_SETTINGS)
def mapping_page(request):
    company = request.company
    context = {
        "connected": is_connected(company),
        "can_modify": allows(request.user, Area.HUB_SETTINGS, Level.MODIFY),
    }
    if context["connected"]:
        filter_form = AccountFilterForm(request.GET)
        modules = selectors.mapping_modules(company=company)
        defaults, default_chosen = selectors.company_default_columns(
            company=company, modules=modules
        )
        columns = selectors.chosen_columns(user=request.user, modules=modules, default=defaults)
        page, mappings = selectors.mapping_grid(
            company=company,
            modules=columns,
            page=request.GET.get("page"),
            **filter_form.filters().selector_kwargs(),
        )
        context.update(
            {
                "filter_form": filter_form,
                "modules": modules,
                "columns": columns,
                "column_codes": [m.code for m in columns],
                "page": page,
                "max_columns": selectors.MAX_COLUMNS,
                "default_columns": defaults,
                "default_chosen": default_chosen,
                "own_columns": columns != defaults,
                "may_set_default": request.user.is_administrator,
                "rows": [
                    {"account": a, "cells": _cells(a.pk, columns, mappings)} for a in page.items
                ],
            }
        )
    return render(request, "mapping/page.html", context)


def account_section(request, account: Account) -> dict:
    """The context of an account's ITC Integrations Mapping section (for the
    mapping_section tag): empty for a role without Hub Settings access, which sees
    "no access" there, not a 403."""
    user = request.user
    if not allows(user, Area.HUB_SETTINGS, Level.VIEW):
        return {"visible": False}
    section = {
        "visible": True,
        "connected": is_connected(account.company),
        "can_modify": allows(user, Area.HUB_SETTINGS, Level.MODIFY),
    }
    if section["connected"]:
        modules = selectors.mapping_modules(company=account.company)
        mappings = selectors.mappings_by_account(account_ids=[account.pk], modules=modules)
        section["cells"] = _cells(account.pk, modules, mappings)
        section["changes"] = selectors.recent_changes(account=account)
        section["module_names"] = selectors.module_names(company=account.company)
    return section


# --- Finance › Unmapped usage ----------------------------------------------------------

UNMAPPED_PAGE_SIZE = 50


def _may_accept(user) -> bool:
    """Accepting a suggestion maps an organization: Billing review and Hub Settings."""
    return allows(user, Area.BILLING_REVIEW, Level.MODIFY) and allows(
        user, Area.HUB_SETTINGS, Level.MODIFY
    )


@require_safe
@area_required(Area.BILLING_REVIEW)
def unmapped_page(request):
    company = request.company
    modules = selectors.mapping_modules(company=company)
    module = request.GET.get("module") or None
    if module not in {m.code for m in modules}:
        module = None
    new_only = request.GET.get("new") == "1"
    summary = unmapped_selectors.unmapped_summary(company=company, module=module)
    default = Decimal(str(DEFAULT_CONFIDENCE))
    context = {
        "connected": is_connected(company),
        "modules": modules,
        "module": module,
        "new_only": new_only,
        "page": unmapped_selectors.unmapped_page(
            company=company,
            module=module,
            new_only=new_only,
            page=request.GET.get("page"),
            page_size=UNMAPPED_PAGE_SIZE,
        ),
        "count": summary.count,
        "new_count": summary.new,
        "revenue": summary.revenue,
        "unpriced": summary.unpriced,
        "priced_at": summary.priced_at,
        "scan": unmapped_selectors.scan_of(company=company),
        "incomplete": unmapped_selectors.incomplete_mappings(company=company),
        "may_accept": _may_accept(request.user),
        "may_scan": allows(request.user, Area.BILLING_REVIEW, Level.MODIFY),
        "default_confidence": default,
        "confident": suggestions.suggestion_list(
            company=company, module=module, min_confidence=default
        ).count(),
    }
    return render(request, "mapping/unmapped.html", context)


def _back(request) -> str:
    """Back to the list as it was filtered (only this page's own parameters)."""
    params = {k: request.POST[k] for k in ("filter_module", "new") if request.POST.get(k)}
    query = "&".join(
        f"{'module' if k == 'filter_module' else k}={quote(v)}" for k, v in params.items()
    )
    return reverse("mapping:unmapped") + (f"?{query}" if query else "")


@require_POST
@area_required(Area.BILLING_REVIEW)
def unmapped_accept(request):
    """Accept one suggestion (module, organization_id, account_id as shown) or every
    suggestion of at least min_confidence."""
    require(request.user, Area.HUB_SETTINGS, Level.MODIFY)
    data = request.POST
    try:
        if data.get("min_confidence") is not None:
            try:
                threshold = Decimal(data["min_confidence"].strip() or "x") / 100
            except InvalidOperation:
                raise InvalidInput(
                    "Enter the confidence as a percentage, 0 to 100.", field="min_confidence"
                ) from None
            accepted = suggestions.accept_suggestions(
                company=request.company,
                user=request.user,
                min_confidence=suggestions.check_confidence(threshold),
                module=data.get("module") or None,
            )
        else:
            pick = suggestions.Pick(
                module=data.get("module", ""),
                organization_id=data.get("organization_id", ""),
                account_id=parse_id(data.get("account_id")) or 0,
            )
            accepted = suggestions.accept_suggestions(
                company=request.company, user=request.user, picks=[pick]
            )
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        if accepted == 1:
            messages.success(request, "The suggestion was accepted: the organization is mapped.")
        elif accepted:
            messages.success(request, f"{accepted} suggestions were accepted and mapped.")
        else:
            messages.warning(request, "No suggestion was that confident; nothing was mapped.")
    return redirect(_back(request))


@require_POST
@area_required(Area.BILLING_REVIEW)
def unmapped_scan(request):
    """Read the unmapped usage and search the suggestions again, in the background."""
    if not is_connected(request.company):
        messages.error(request, f"{settings.ICB_HUB_NAME} is not connected.")
    else:
        scan_unmapped.delay(request.company.pk)
        messages.success(
            request,
            "Reading the usage of unmapped organizations in the background; this page "
            "shows the progress.",
        )
    return redirect(_back(request))
