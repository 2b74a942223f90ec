"""The sync preview in Chromium: on a service page and on its account's page, Preview
shows in place what a sync would change now (against the sandbox hub), and changes
nothing.

Screenshots go to $ICB_SCREENSHOTS (a directory) when set, else to the test's temporary
directory."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from icb.billing_sync.models import HeldChange, SyncPreview
from icb.billing_sync.services import enable_icb, sync_now
from icb.billing_sync.tasks import preview_company_task
from icb.contracts.models import Service
from icb.hub.models import Organization
from icb.review.selectors import PREVIEW_STALLED
from tests.clients import login
from tests.factories import (
    PASSWORD,
    make_account,
    make_company,
    make_contract,
    make_hub_connection,
    make_mapping,
    make_service,
    make_user,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# (service, unit price, billing type, units synced, units the hub reports now)
SERVICES = [
    ("Managed Workstations", "45.00", "workstations", 48, 0),
    ("Managed Servers", "150.00", "servers", 6, 7),
]


def _world(hub):
    company = make_company("Acme MSP")
    admin = make_user(company, "admin@acme.test")
    make_user(company, "finance@acme.test", role="Finance")
    tokens = hub.obtain_tokens()
    org_id = f"e2e-{uuid.uuid4().hex[:8]}"
    hub.add_organization(
        "rmm",
        "Harbor Dental Group",
        id=org_id,
        quantities={kind: str(before) for _, _, kind, before, _ in SERVICES},
    )
    make_hub_connection(company, tokens, read_directory=True)
    account = make_account(company, "Harbor Dental Group", "HARBOR")
    contract = make_contract(account, "Managed Services")
    make_mapping(account, Organization.objects.get(company=company, external_id=org_id))
    services = {}
    for name, price, kind, before, after in SERVICES:
        service = enable_icb(
            service=make_service(contract, name, unit_price=price, units="1"),
            actor=admin,
            module="rmm",
            billing_type=kind,
        )
        services[name] = sync_now(service=service, actor=admin)
        hub.set_quantity("rmm", org_id, kind, str(after))
    return account, services


def _units(services):
    return {s.pk: Service.objects.get(pk=s.pk).units for s in services.values()}


def test_preview_on_a_service_and_on_its_account(page, live_server, hub, shots):
    account, services = _world(hub)
    before = _units(services)
    login(page, live_server, "finance@acme.test", PASSWORD)

    workstations = services["Managed Workstations"]
    page.goto(
        f"{live_server.url}/finance/contracts/{workstations.contract_id}"
        f"/services/{workstations.pk}/"
    )
    page.get_by_role("link", name="Preview").click()
    preview = page.locator("[data-sync-preview]")
    expect(preview).to_contain_text("What a sync would change now")
    row = preview.locator("tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("48.00")
    expect(row).to_contain_text("Would be held")
    expect(row).to_contain_text("drop to zero")
    expect(row).to_contain_text("-2,160.00")
    page.screenshot(path=str(shots / "sync-preview-service.png"), full_page=True)

    page.goto(f"{live_server.url}/admin/crm/accounts/{account.pk}/")
    page.get_by_role("link", name="Preview sync").click()
    rows = page.locator("[data-sync-preview] tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="Managed Servers")).to_contain_text("Would be applied")
    expect(rows.filter(has_text="Managed Servers")).to_contain_text("+150.00")
    expect(rows.filter(has_text="Managed Workstations")).to_contain_text("Would be held")
    page.screenshot(path=str(shots / "sync-preview-account.png"), full_page=True)

    # Nothing changed: the units, and no held change.
    assert _units(services) == before
    assert not HeldChange.objects.filter(service__in=services.values()).exists()


def test_preview_the_whole_company_on_the_review_page(page, live_server, hub, shots, monkeypatch):
    # The task runs in the request, by Celery itself (eagerly: no worker needed).
    monkeypatch.setitem(preview_company_task.app.conf, "task_always_eager", True)
    account, services = _world(hub)
    before = _units(services)
    login(page, live_server, "finance@acme.test", PASSWORD)

    page.goto(f"{live_server.url}/finance/billing-review/")
    page.get_by_role("button", name="Preview the whole company").click()
    expect(page.get_by_role("heading", name="What a sync would change now")).to_be_visible()
    rows = page.locator("[data-sync-preview] tbody tr")
    expect(rows).to_have_count(2)
    # Largest monthly impact first: the drop to zero (−48 × 45.00).
    expect(rows.first).to_contain_text("Managed Workstations")
    expect(rows.first).to_contain_text("-2,160.00")
    page.get_by_label("Sort by").select_option("service")
    page.get_by_label("Show").select_option("applied")
    page.get_by_role("button", name="Show", exact=True).click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Managed Servers")
    page.get_by_label("Show").select_option("")
    page.get_by_role("button", name="Show", exact=True).click()
    expect(rows).to_have_count(2)
    page.screenshot(path=str(shots / "sync-preview-company.png"), full_page=True)
    assert _units(services) == before
    assert not HeldChange.objects.filter(service__in=services.values()).exists()

    # While it runs, the page shows the progress (and reloads itself).
    preview = SyncPreview.objects.get()
    SyncPreview.objects.filter(pk=preview.pk).update(
        status="running", services_done=1200, services_total=4800, rows=[]
    )
    page.goto(f"{live_server.url}/finance/billing-review/preview/{preview.pk}/")
    expect(page.get_by_role("status")).to_contain_text("1200 of 4800 services (25 %)")
    page.screenshot(path=str(shots / "sync-preview-progress.png"), full_page=True)

    # Its worker died: silent for longer than PREVIEW_STALLED, it is shown as failed (no
    # more reloading) and can be started again.
    SyncPreview.objects.filter(pk=preview.pk).update(
        updated_at=timezone.now() - PREVIEW_STALLED - timedelta(minutes=1)
    )
    page.goto(f"{live_server.url}/finance/billing-review/preview/{preview.pk}/")
    expect(page.get_by_text("The preview stopped: its worker did not finish.")).to_be_visible()
    page.screenshot(path=str(shots / "sync-preview-stalled.png"), full_page=True)
    page.get_by_role("button", name="Start it again").click()
    expect(rows).to_have_count(2)
