"""Admin > My Company > Hub Settings: the Organization Mapping page, and the ITC
Integrations Mapping section of an account's page (rendered by the mapping_section tag).
Reads here; saving goes through the API (/api/v1/mappings/changes) from
static/mapping/mapping.js."""

from django.shortcuts import render
from django.views.decorators.http import require_safe

from icb.crm.forms import AccountFilterForm
from icb.crm.models import Account
from icb.hub.services import is_connected
from icb.tenancy.models import Area, Level
from icb.tenancy.permissions import allows, area_required

from . import selectors


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
