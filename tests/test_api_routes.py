"""Walks every API route: another company's ids are a 404 everywhere, each role level
gets exactly what it should, and no route answers 500. A new route fails these tests
until it is added to the tables below (so nobody forgets its permission)."""

import datetime
import json
import re

import pytest
from django.test import Client

from icb.api import api
from icb.billing_sync.models import HeldChange, SyncPreview, SyncRun
from icb.hub.models import BillingType, Module, Organization
from icb.invoicing.models import Invoice, InvoiceRun
from icb.notify.models import WebhookEndpoint
from icb.tenancy.models import Area
from tests.factories import make_account, make_contract, make_role, make_service, make_user

DIRECTORY = (Area.HUB_SETTINGS, Area.CONTRACTS)  # either area's level is enough
ADMIN = "administrator"
ANY = "any authenticated user"

# (method, path) → (area or areas, level needed) or ADMIN/ANY/None (public).
ROUTE_PERMISSIONS = {
    ("GET", "/health"): None,
    ("GET", "/me"): ANY,
    ("GET", "/accounts"): (Area.CRM_ACCOUNTS, "view"),
    ("POST", "/accounts"): (Area.CRM_ACCOUNTS, "modify"),
    ("GET", "/accounts/{account_id}"): (Area.CRM_ACCOUNTS, "view"),
    ("PATCH", "/accounts/{account_id}"): (Area.CRM_ACCOUNTS, "modify"),
    ("GET", "/contracts"): (Area.CONTRACTS, "view"),
    ("POST", "/contracts"): (Area.CONTRACTS, "modify"),
    # The contract form's account box: a contracts user may not see the CRM.
    ("GET", "/contracts/account-options"): (Area.CONTRACTS, "view"),
    ("GET", "/contracts/{contract_id}"): (Area.CONTRACTS, "view"),
    ("PATCH", "/contracts/{contract_id}"): (Area.CONTRACTS, "modify"),
    ("GET", "/contracts/{contract_id}/services"): (Area.CONTRACTS, "view"),
    ("POST", "/contracts/{contract_id}/services"): (Area.CONTRACTS, "modify"),
    ("GET", "/services/{service_id}"): (Area.CONTRACTS, "view"),
    ("PATCH", "/services/{service_id}"): (Area.CONTRACTS, "modify"),
    ("DELETE", "/services/{service_id}"): (Area.CONTRACTS, "modify"),
    ("GET", "/services/{service_id}/history"): (Area.CONTRACTS, "view"),
    ("PUT", "/services/{service_id}/icb"): (Area.CONTRACTS, "modify"),
    ("DELETE", "/services/{service_id}/icb"): (Area.CONTRACTS, "modify"),
    ("POST", "/services/{service_id}/sync"): (Area.CONTRACTS, "modify"),
    ("GET", "/sync-runs"): (Area.CONTRACTS, "view"),
    ("GET", "/sync-runs/{run_id}"): (Area.CONTRACTS, "view"),
    ("GET", "/sync-runs/{run_id}/services"): (Area.CONTRACTS, "view"),
    ("GET", "/mappings"): (Area.HUB_SETTINGS, "view"),
    ("GET", "/mappings/columns"): (Area.HUB_SETTINGS, "view"),
    ("PUT", "/mappings/columns"): (Area.HUB_SETTINGS, "view"),  # a personal preference
    ("GET", "/mappings/columns/default"): (Area.HUB_SETTINGS, "view"),
    ("PUT", "/mappings/columns/default"): ADMIN,  # the company's default
    ("GET", "/mappings/organizations"): (Area.HUB_SETTINGS, "view"),
    ("GET", "/mapping-changes"): (Area.HUB_SETTINGS, "view"),
    ("GET", "/accounts/{account_id}/mappings"): (Area.HUB_SETTINGS, "view"),
    ("POST", "/mappings/changes"): (Area.HUB_SETTINGS, "modify"),
    ("PUT", "/accounts/{account_id}/mappings"): (Area.HUB_SETTINGS, "modify"),
    ("GET", "/unmapped-organizations"): (Area.BILLING_REVIEW, "view"),
    ("GET", "/mapping-suggestions"): (Area.BILLING_REVIEW, "view"),
    # Accepting maps an organization: both areas at modify.
    ("POST", "/mapping-suggestions/accept"): ((Area.BILLING_REVIEW, Area.HUB_SETTINGS), "modify"),
    ("GET", "/hub"): (Area.SECURITY, "view"),
    ("POST", "/hub/disconnect"): ADMIN,
    ("POST", "/hub/refresh"): ADMIN,
    # The directory is read by the mapping page and by the service window alike.
    ("GET", "/modules"): (DIRECTORY, "view"),
    ("GET", "/modules/{code}/organizations"): (DIRECTORY, "view"),
    ("GET", "/webhooks"): (Area.SECURITY, "view"),
    ("POST", "/webhooks"): (Area.SECURITY, "modify"),
    ("DELETE", "/webhooks/{webhook_id}"): (Area.SECURITY, "modify"),
    ("GET", "/held-changes"): (Area.BILLING_REVIEW, "view"),
    ("GET", "/held-changes/account-options"): (Area.BILLING_REVIEW, "view"),
    ("GET", "/held-changes/{held_id}"): (Area.BILLING_REVIEW, "view"),
    ("POST", "/held-changes/{held_id}/approve"): (Area.BILLING_REVIEW, "modify"),
    ("POST", "/held-changes/{held_id}/dismiss"): (Area.BILLING_REVIEW, "modify"),
    ("POST", "/held-changes/{held_id}/adjust"): (Area.BILLING_REVIEW, "modify"),
    ("POST", "/held-changes/bulk"): (Area.BILLING_REVIEW, "modify"),
    ("GET", "/review-policy"): (Area.BILLING_REVIEW, "view"),
    ("PUT", "/review-policy"): ADMIN,  # the policy is the administrators'
    ("POST", "/sync-preview"): (Area.BILLING_REVIEW, "view"),  # it writes nothing
    ("GET", "/sync-previews/{preview_id}"): (Area.BILLING_REVIEW, "view"),
    ("POST", "/invoice-runs"): (Area.INVOICING, "modify"),
    ("GET", "/invoice-runs/{invoice_run_id}"): (Area.INVOICING, "view"),
    ("GET", "/invoices"): (Area.INVOICING, "view"),
    ("GET", "/invoices/{invoice_id}"): (Area.INVOICING, "view"),
    ("POST", "/invoices/{invoice_id}/finalize"): (Area.INVOICING, "modify"),
    ("POST", "/invoices/{invoice_id}/void"): (Area.INVOICING, "modify"),
    ("POST", "/invoices/{invoice_id}/credit-note"): (Area.INVOICING, "modify"),
}

# Bodies that would be valid for the caller's own objects, so a 404 can only come from
# the lookup and a 403 only from the permission check.
BODIES = {
    ("POST", "/accounts"): {
        "name": "Route Test",
        "code": "ROUTE-{n}",
        "tax_rate": "8.25",
        "accounting_contact_name": "Route Test LLC",
    },
    ("PATCH", "/accounts/{account_id}"): {"notes": "patched", "tax_rate": None},
    ("POST", "/contracts"): {
        "account_id": "{account_id}",
        "name": "Route contract",
        "start_date": "2026-01-01",
        "billing_frequency": "monthly",
        "currency": "USD",
        "billing_timing": "arrears",
        "proration": "none",
        "payment_terms_days": 14,
    },
    ("PATCH", "/contracts/{contract_id}"): {"name": "Renamed", "billing_timing": None},
    ("POST", "/contracts/{contract_id}/services"): {
        "name": "Extra",
        "unit_price": "1.00",
        "units": "1",
        "start_date": "2026-02-01",
        "end_date": "2026-12-31",
        "revenue_account_code": "4000",
    },
    ("PATCH", "/services/{service_id}"): {"units": "3"},
    ("PUT", "/services/{service_id}/icb"): {"module": "{code}", "billing_type": "workstations"},
    ("POST", "/mappings/changes"): {"changes": []},
    ("PUT", "/mappings/columns"): {"modules": []},
    ("PUT", "/mappings/columns/default"): {"modules": []},
    ("PUT", "/accounts/{account_id}/mappings"): {},
    # A public address literal: checked without a name lookup, never contacted here.
    ("POST", "/webhooks"): {"url": "https://93.184.216.34/hook", "events": ["change.held"]},
    ("POST", "/mapping-suggestions/accept"): {"min_confidence": 0.9},
    ("POST", "/held-changes/{held_id}/adjust"): {"units": "4", "note": "route walk"},
    ("POST", "/held-changes/bulk"): {"action": "dismiss", "ids": []},
    ("POST", "/sync-preview"): {"service_id": "{service_id}"},
    ("POST", "/invoice-runs"): {"period_start": "2026-11-01"},
    ("POST", "/invoices/{invoice_id}/void"): {"reason": "route walk"},
    ("PUT", "/review-policy"): {
        "mode": "hold_unusual",
        "max_units": None,
        "max_percent": None,
        "hold_drop_to_zero": True,
        "hold_drop_percent": 50,
        "hold_first_sync": False,
    },
}


def _routes():
    for _prefix, router in api._routers:
        for path, path_view in router.path_operations.items():
            for operation in path_view.operations:
                for method in operation.methods:
                    yield method, path


ROUTES = sorted(set(_routes()))


def test_every_route_has_a_declared_permission():
    missing = [r for r in ROUTES if r not in ROUTE_PERMISSIONS]
    assert not missing, f"add these routes to ROUTE_PERMISSIONS: {missing}"


def _world(company):
    tag = f"{company.pk}x{Module.objects.filter(company=company).count()}"
    account = make_account(company, f"{company.name} Customer", code=f"C{tag}")
    contract = make_contract(account)
    service = make_service(contract)
    module = Module.objects.create(company=company, code=f"mod{tag}", name="RMM")
    BillingType.objects.create(module=module, code="workstations", name="Workstations")
    Organization.objects.create(company=company, module=module, external_id="1", name="Org")
    run = SyncRun.objects.create(company=company, trigger="manual")
    preview = SyncPreview.objects.create(company=company, status="done")
    webhook = WebhookEndpoint.objects.create(
        company=company, url="https://example.com/hook", event_types=["change.held"]
    )
    held = HeldChange.objects.create(
        company=company,
        service=service,
        current_units=service.units,
        proposed_units=0,
        rule="drop_to_zero",
        sync_run_id=run.pk,
    )
    invoice_run, _ = InvoiceRun.objects.get_or_create(
        company=company,
        period_start=datetime.date(2026, 10, 1),
        defaults={"period_end": datetime.date(2026, 10, 31)},
    )
    invoice = Invoice.objects.create(
        company=company,
        account=account,
        run=invoice_run,
        currency="USD",
        period_start=invoice_run.period_start,
        period_end=invoice_run.period_end,
    )
    return {
        "invoice_run_id": invoice_run.pk,
        "invoice_id": invoice.pk,
        "held_id": held.pk,
        "account_id": account.pk,
        "contract_id": contract.pk,
        "service_id": service.pk,
        "code": module.code,
        "run_id": run.pk,
        "webhook_id": webhook.pk,
        "preview_id": preview.pk,
    }


def _fill(template, ids, n=0):
    if isinstance(template, dict):
        return {k: _fill(v, ids, n) for k, v in template.items()}
    if isinstance(template, str):
        filled = template.replace("{n}", str(n))
        for key, value in ids.items():
            if filled == "{" + key + "}":
                return value
            filled = filled.replace("{" + key + "}", str(value))
        return filled
    return template


def _call(client, method, path, ids, n=0, **headers):
    url = "/api/v1" + _fill(path, ids)
    body = _fill(BODIES.get((method, path), {}), ids, n)
    return client.generic(
        method, url, data=json.dumps(body), content_type="application/json", **headers
    )


@pytest.mark.django_db
def test_other_companys_ids_are_404_on_every_route(company, other_company, admin_user):
    _world(company)
    foreign = _world(other_company)
    client = Client()
    client.force_login(admin_user)
    checked = 0
    for method, path in ROUTES:
        params = re.findall(r"{(\w+)}", path)
        if not params:
            continue
        unknown = [p for p in params if p not in foreign]
        assert not unknown, f"{method} {path}: add a foreign object for {unknown} in _world"
        response = _call(client, method, path, foreign)
        assert response.status_code == 404, (
            method,
            path,
            response.status_code,
            response.content[:200],
        )
        assert response.json()["detail"] and response.json()["code"] == "not_found"
        checked += 1
    assert checked >= 8
    # The foreign objects are untouched.
    from icb.contracts.models import Service

    assert Service.objects.get(pk=foreign["service_id"]).units == 10


@pytest.mark.django_db
def test_lists_show_only_the_callers_company(company, other_company, admin_user):
    _world(company)
    _world(other_company)
    client = Client()
    client.force_login(admin_user)
    for path in ("/api/v1/accounts", "/api/v1/contracts", "/api/v1/modules"):
        text = client.get(path).content.decode()
        assert "Rival MSP" not in text and f"mod{other_company.pk}x" not in text


LEVELS = ["none", "view", "modify"]


@pytest.mark.django_db
@pytest.mark.parametrize("level", LEVELS)
def test_each_role_level_gets_what_it_should(company, level):
    ids = _world(company)
    everything_else = {a.value: "modify" for a in Area}
    n = 0
    for method, path in ROUTES:
        rule = ROUTE_PERMISSIONS[(method, path)]
        if rule in (None, ANY, ADMIN):
            continue
        areas, needed = rule
        areas = areas if isinstance(areas, tuple) else (areas,)
        role = make_role(
            company,
            f"{level}-{method}-{path}"[:100],
            **{**everything_else, **{a.value: level for a in areas}},
        )
        user = make_user(company, f"u{n}-{level}@acme.test", role)
        client = Client()
        client.force_login(user)
        n += 1
        response = _call(client, method, path, ids, n)
        allowed = LEVELS.index(level) >= LEVELS.index(needed)
        assert response.status_code < 500, (method, path, response.content[:200])
        if allowed:
            assert response.status_code != 403, (method, path, level, response.content[:200])
        else:
            assert response.status_code == 403, (method, path, level, response.status_code)
            assert response.json()["code"] == "forbidden", (method, path)
        if method == "DELETE" and allowed:
            ids = _world(company)  # the service is gone; later routes need a fresh one


@pytest.mark.django_db
def test_admin_only_routes_refuse_non_administrators(company):
    _world(company)
    finance = make_user(company, "fin@acme.test", "Finance")
    client = Client()
    client.force_login(finance)
    for method, path in ROUTES:
        if ROUTE_PERMISSIONS[(method, path)] == ADMIN:
            assert _call(client, method, path, {}).status_code == 403, (method, path)


@pytest.mark.django_db
def test_every_route_needs_authentication_except_health(company):
    ids = _world(company)
    anonymous = Client()
    for method, path in ROUTES:
        expected = 200 if ROUTE_PERMISSIONS[(method, path)] is None else 401
        assert _call(anonymous, method, path, ids).status_code == expected, (method, path)
