"""Walks every page URL, as tests/test_api_routes.py walks the API: another company's ids
are a 404 page everywhere, each role level gets exactly what the table below says, an
anonymous visitor is sent to the login page, and no page answers 500. A new page fails
these tests until it is added to PAGE_PERMISSIONS (so nobody forgets its permission)."""

import datetime
import re

import pytest
from django.test import Client
from django.urls import URLResolver, get_resolver, reverse

from icb.billing_sync.models import HeldChange, SyncPreview, SyncRun
from icb.contracts.models import Service
from icb.hub.models import BillingType, Module, Organization
from icb.invoicing.models import Invoice, InvoiceLine, InvoiceRun
from icb.notify.models import WebhookEndpoint
from icb.tenancy.models import Area
from tests.factories import make_account, make_contract, make_role, make_service, make_user

PUBLIC = "public"
ANY = "any authenticated user"
ADMIN = "administrator"
VIEW, MODIFY = "view", "modify"

# URL name → {method: rule}; a rule is (area, level needed), ADMIN, ANY or PUBLIC. The
# methods are those the page handles (GET shows it, POST submits its form or button).
PAGE_PERMISSIONS = {
    "home": {"GET": ANY},
    "login": {"GET": PUBLIC},
    "logout": {"POST": PUBLIC},
    "tenancy:roles": {"GET": (Area.SECURITY, VIEW)},
    "tenancy:role_create": {"GET": (Area.SECURITY, VIEW), "POST": (Area.SECURITY, MODIFY)},
    "tenancy:role_edit": {"GET": (Area.SECURITY, VIEW), "POST": (Area.SECURITY, MODIFY)},
    "tenancy:users": {"GET": (Area.SECURITY, VIEW), "POST": (Area.SECURITY, MODIFY)},
    "tenancy:user_edit": {"GET": (Area.SECURITY, VIEW), "POST": (Area.SECURITY, MODIFY)},
    "tenancy:profile": {"GET": ANY, "POST": ANY},  # one's own API tokens
    "crm:list": {"GET": (Area.CRM_ACCOUNTS, VIEW)},
    # Nothing to fill in for a role that may only view.
    "crm:create": {"GET": (Area.CRM_ACCOUNTS, MODIFY), "POST": (Area.CRM_ACCOUNTS, MODIFY)},
    "crm:detail": {"GET": (Area.CRM_ACCOUNTS, VIEW), "POST": (Area.CRM_ACCOUNTS, MODIFY)},
    "contracts:list": {"GET": (Area.CONTRACTS, VIEW)},
    "contracts:create": {"GET": (Area.CONTRACTS, MODIFY), "POST": (Area.CONTRACTS, MODIFY)},
    "contracts:detail": {"GET": (Area.CONTRACTS, VIEW), "POST": (Area.CONTRACTS, MODIFY)},
    "contracts:service_create": {"POST": (Area.CONTRACTS, MODIFY)},
    "contracts:service_detail": {"GET": (Area.CONTRACTS, VIEW), "POST": (Area.CONTRACTS, MODIFY)},
    "contracts:service_delete": {"POST": (Area.CONTRACTS, MODIFY)},
    "contracts:service_end": {"POST": (Area.CONTRACTS, MODIFY)},
    # The company's billing defaults change every contract's invoices.
    "invoicing:settings": {"GET": ADMIN, "POST": ADMIN},
    "billing_sync:runs": {"GET": (Area.CONTRACTS, VIEW)},
    "billing_sync:run_detail": {"GET": (Area.CONTRACTS, VIEW)},
    "billing_sync:service_sync": {"POST": (Area.CONTRACTS, MODIFY)},
    "billing_sync:service_stop": {"POST": (Area.CONTRACTS, MODIFY)},
    "hub:page": {"GET": ADMIN},
    "hub:connect": {"POST": ADMIN},
    "hub:callback": {"GET": ADMIN},
    "hub:disconnect": {"POST": ADMIN},
    "hub:refresh": {"POST": ADMIN},
    "mapping:page": {"GET": (Area.HUB_SETTINGS, VIEW)},
    "notify:webhooks": {"GET": (Area.SECURITY, VIEW), "POST": (Area.SECURITY, MODIFY)},
    "notify:webhook_detail": {"GET": (Area.SECURITY, VIEW), "POST": (Area.SECURITY, MODIFY)},
    "notify:digest_choice": {"POST": ANY},  # one's own digest choice, on the profile
    "mapping:unmapped": {"GET": (Area.BILLING_REVIEW, VIEW)},
    # Accepting maps an organization, so it also needs Hub Settings modify
    # (tests/mapping/test_unmapped_pages.py checks that part).
    "mapping:unmapped_accept": {"POST": (Area.BILLING_REVIEW, MODIFY)},
    "mapping:unmapped_scan": {"POST": (Area.BILLING_REVIEW, MODIFY)},
    "review:page": {"GET": (Area.BILLING_REVIEW, VIEW)},
    "review:approve": {"POST": (Area.BILLING_REVIEW, MODIFY)},
    "review:dismiss": {"POST": (Area.BILLING_REVIEW, MODIFY)},
    "review:adjust": {"POST": (Area.BILLING_REVIEW, MODIFY)},
    "review:bulk": {"POST": (Area.BILLING_REVIEW, MODIFY)},
    "review:preview": {"GET": (Area.BILLING_REVIEW, VIEW)},
    "review:start_company_preview": {"POST": (Area.BILLING_REVIEW, VIEW)},  # writes nothing
    "review:company_preview": {"GET": (Area.BILLING_REVIEW, VIEW)},
    # Finance reads the policy; only administrators change it.
    "review:policy": {"GET": (Area.BILLING_REVIEW, VIEW), "POST": ADMIN},
    "invoicing:runs": {"GET": (Area.INVOICING, VIEW)},
    "invoicing:run_create": {"POST": (Area.INVOICING, MODIFY)},
    "invoicing:run_detail": {"GET": (Area.INVOICING, VIEW)},
    "invoicing:run_finalize": {"POST": (Area.INVOICING, MODIFY)},
    "invoicing:invoice_detail": {"GET": (Area.INVOICING, VIEW)},
    "invoicing:line_add": {"POST": (Area.INVOICING, MODIFY)},
    "invoicing:line_remove": {"POST": (Area.INVOICING, MODIFY)},
    "invoicing:line_quantity": {"POST": (Area.INVOICING, MODIFY)},
    "invoicing:invoice_finalize": {"POST": (Area.INVOICING, MODIFY)},
    "invoicing:invoice_void": {"POST": (Area.INVOICING, MODIFY)},
    "invoicing:invoice_credit": {"POST": (Area.INVOICING, MODIFY)},
}

NOT_FOUND_PAGE = "There is nothing here, or it is not yours to see."


def _patterns(resolver, namespace="", prefix=""):
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "api":
                continue  # walked by tests/test_api_routes.py
            inner = ":".join(n for n in (namespace, pattern.namespace or "") if n)
            yield from _patterns(pattern, inner, prefix + str(pattern.pattern))
        else:
            name = f"{namespace}:{pattern.name}" if namespace else pattern.name
            yield name, prefix + str(pattern.pattern)


PAGES = dict(_patterns(get_resolver()))  # URL name → route


def _params(name):
    return re.findall(r"<(?:\w+:)?(\w+)>", PAGES[name])


def _walk():
    for name in sorted(PAGE_PERMISSIONS):
        for method, rule in PAGE_PERMISSIONS[name].items():
            yield name, method, rule


def test_every_page_has_a_declared_permission():
    assert None not in PAGES, "give every page URL a name"
    missing = sorted(set(PAGES) - set(PAGE_PERMISSIONS))
    assert not missing, f"add these pages to PAGE_PERMISSIONS: {missing}"
    stale = sorted(set(PAGE_PERMISSIONS) - set(PAGES))
    assert not stale, f"these pages are gone; remove them from PAGE_PERMISSIONS: {stale}"


def _world(company):
    """One of each object a page URL names, in this company."""
    tag = f"{company.pk}x{Module.objects.filter(company=company).count()}"
    account = make_account(company, f"{company.name} Customer {tag}", code=f"C{tag}")
    contract = make_contract(account)
    service = make_service(contract)
    module = Module.objects.create(company=company, code=f"mod{tag}", name="RMM")
    BillingType.objects.create(module=module, code="workstations", name="Workstations")
    Organization.objects.create(company=company, module=module, external_id="1", name="Org")
    run = SyncRun.objects.create(company=company, trigger="manual")
    preview = SyncPreview.objects.create(company=company, status="done")
    held = HeldChange.objects.create(
        company=company,
        service=service,
        current_units=service.units,
        proposed_units=0,
        rule="drop_to_zero",
        sync_run_id=run.pk,
    )
    role = make_role(company, f"Custom {tag}")
    member = make_user(company, f"member{tag}@{company.pk}.test", role)
    webhook = WebhookEndpoint.objects.create(
        company=company, url="https://example.com/hook", event_types=["change.held"]
    )
    invoice_run, _ = InvoiceRun.objects.get_or_create(
        company=company,
        period_start=datetime.date(2026, 10, 1),
        defaults={"period_end": datetime.date(2026, 10, 31), "status": "done"},
    )
    invoice = Invoice.objects.create(
        company=company,
        account=account,
        run=invoice_run,
        currency="USD",
        period_start=invoice_run.period_start,
        period_end=invoice_run.period_end,
    )
    line = InvoiceLine.objects.create(
        company=company,
        invoice=invoice,
        kind="recurring",
        description="Invoiced service",
        quantity=10,
        unit_price=45,
        amount=450,
        tax=0,
        # Not `service`: the walk deletes that one, and a service on an invoice stays.
        service=make_service(contract, "Invoiced service"),
        contract=contract,
    )
    return {
        "invoice_run_id": invoice_run.pk,
        "invoice_id": invoice.pk,
        "line_id": line.pk,
        "webhook_id": webhook.pk,
        "account_id": account.pk,
        "contract_id": contract.pk,
        "service_id": service.pk,
        "run_id": run.pk,
        "preview_id": preview.pk,
        "held_id": held.pk,
        "role_id": role.pk,
        "user_id": member.pk,
    }


def _call(client, name, method, ids):
    url = reverse(name, kwargs={p: ids[p] for p in _params(name)})
    return client.generic(method, url, data="", content_type="application/x-www-form-urlencoded")


def _client(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_other_companys_ids_are_the_404_page_everywhere(company, other_company, admin_user):
    mine = _world(company)
    theirs = _world(other_company)
    client = _client(admin_user)
    checked = 0
    for name, method, _rule in _walk():
        params = _params(name)
        if not params:
            continue
        unknown = [p for p in params if p not in theirs]
        assert not unknown, f"{name}: add a foreign object for {unknown} in _world"
        # All foreign, and each foreign id among the caller's own others.
        mixes = [theirs] + [{**mine, p: theirs[p]} for p in params] if len(params) > 1 else [theirs]
        for ids in mixes:
            response = _call(client, name, method, ids)
            assert response.status_code == 404, (name, method, ids, response.status_code)
            assert NOT_FOUND_PAGE in response.content.decode(), (name, method)
            checked += 1
    assert checked >= 15
    foreign = Service.objects.get(pk=theirs["service_id"])
    assert (foreign.name, foreign.units, foreign.billing_mode) == (
        "Managed Workstations",
        10,
        "manual",
    )


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_the_login_page(company):
    ids = _world(company)
    for name, method, rule in _walk():
        response = _call(Client(), name, method, ids)
        if rule == PUBLIC:
            assert response.status_code in (200, 302), (name, method, response.status_code)
        else:
            assert response.status_code == 302, (name, method, response.status_code)
            assert response["Location"].startswith("/login/?next="), (name, method)


LEVELS = ["none", "view", "modify"]


@pytest.mark.django_db
@pytest.mark.parametrize("level", LEVELS)
def test_each_role_level_gets_what_it_should(company, level):
    ids = _world(company)
    everything_else = {a.value: MODIFY for a in Area}
    checked = 0
    for n, (name, method, rule) in enumerate(_walk()):
        if rule in (PUBLIC, ANY, ADMIN):
            continue
        area, needed = rule
        role = make_role(company, f"{level}-{n}", **{**everything_else, area.value: level})
        response = _call(
            _client(make_user(company, f"u{n}-{level}@acme.test", role)), name, method, ids
        )
        allowed = LEVELS.index(level) >= LEVELS.index(needed)
        assert response.status_code < 500, (name, method, response.content[:300])
        if allowed:
            assert response.status_code in (200, 302), (name, method, level, response.status_code)
        else:
            assert response.status_code == 403, (name, method, level, response.status_code)
        checked += 1
        if method == "POST" and allowed:
            ids = _world(company)  # the object may be gone or changed; start afresh
    assert checked >= 20


@pytest.mark.django_db
def test_administrator_pages_refuse_other_roles(company, admin_user):
    ids = _world(company)
    finance = _client(make_user(company, "fin@acme.test", "Finance"))
    admin = _client(admin_user)
    for name, method, rule in _walk():
        if rule != ADMIN:
            continue
        assert _call(finance, name, method, ids).status_code == 403, (name, method)
        assert _call(admin, name, method, ids).status_code in (200, 302), (name, method)


@pytest.mark.django_db
def test_pages_for_any_user_need_no_level(company):
    ids = _world(company)
    nobody = _client(make_user(company, "nobody@acme.test", make_role(company, "No access")))
    for name, method, rule in _walk():
        if rule == ANY:
            response = _call(nobody, name, method, ids)
            assert response.status_code in (200, 302), (name, method, response.status_code)
