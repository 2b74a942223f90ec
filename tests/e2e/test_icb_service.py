"""A finance admin bills a service by Integrated Customer Billing, in Chromium."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from icb.contracts.models import Service
from icb.hub.models import Module, Organization
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

NOT_MAPPED = (
    "Module organization is not mapped to an account. Please complete ITC Mapping "
    "found in CRM Account, in order to utilize automated ITC billing."
)


def test_add_an_icb_service_map_sync_and_stop(page, live_server, hub):
    company = make_company("Acme MSP")
    make_user(company, "admin@acme.test")
    account = make_account(company, "Harbor Dental Group", "HARBOR")
    contract = make_contract(account, "Managed Services")
    # Connected without the browser redirect (tests/e2e/test_hub_connect.py does that):
    # the sandbox's own token flow, then the directory read as after a real connect.
    make_hub_connection(company, hub.obtain_tokens(), read_directory=True)
    login(page, live_server, "admin@acme.test", PASSWORD)

    page.goto(f"{live_server.url}/finance/contracts/{contract.pk}/?tab=billing")
    page.get_by_role("button", name="Add", exact=True).click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Service name").fill("Managed Workstations")
    dialog.get_by_label("Unit price (USD)").fill("45")
    dialog.locator("#service-units").fill("1")
    dialog.get_by_role("tab", name="Integrated Customer Billing").click()
    dialog.get_by_label("Module", exact=True).select_option(label="RMM")
    dialog.get_by_label("Billing Type", exact=True).select_option(label="Desktop & Laptop")

    triangle = dialog.get_by_role("img", name=NOT_MAPPED)
    expect(triangle).to_be_visible()
    triangle.hover()
    tooltip = dialog.get_by_role("tooltip")
    expect(tooltip).to_be_visible()
    expect(tooltip.locator(".icb-tooltip-text")).to_have_text(NOT_MAPPED)
    link = tooltip.get_by_role("link", name="Open the Integration Mapping")
    expect(link).to_be_visible()
    expect(link).to_have_attribute(
        "href", f"/admin/crm/accounts/{account.pk}/?tab=icb#itc-integrations-mapping"
    )
    dialog.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Service “Managed Workstations” was added.")).to_be_visible()
    # Saved with ICB on, the service was synced at once: nothing mapped yet.
    expect(page.get_by_text("Mapping Settings Incomplete: nothing to sync yet.")).to_be_visible()

    # Reopen: the mapping is incomplete, shown under Last Sync.
    page.get_by_role("link", name="Managed Workstations").click()
    state = page.get_by_role("definition").filter(has_text="Mapping Settings Incomplete")
    expect(state).to_be_visible()
    expect(page.locator("dt", has_text="Last Sync")).to_be_visible()
    expect(page.locator("#service-units")).to_be_disabled()

    # Map an organization (as the mapping page would), then sync now.
    rmm = Module.objects.get(company=company, code="rmm")
    org = Organization.objects.filter(module=rmm, parent_external_id="").first()
    hub.set_quantity("rmm", org.external_id, "workstations", "23")
    make_mapping(account, org)
    before = timezone.now()
    page.get_by_role("button", name="Sync now").click()
    expect(page.get_by_text("Synced: 23.00 units.")).to_be_visible()
    expect(page.locator("#service-units")).to_have_value("23.00")
    service = Service.objects.get(name="Managed Workstations")
    assert before <= service.last_sync_at <= timezone.now()
    # The page shows the stored sync time in the company's zone, and the next sync is
    # the coming midnight there (computed here from the rule, not from the stored value).
    synced_on = service.last_sync_at.astimezone(company.zone)
    expect(page.locator("[data-icb-last-sync]")).to_contain_text(f"{synced_on:%Y-%m-%d %H:%M}")
    tonight = f"{synced_on.date() + timedelta(days=1):%Y-%m-%d} 00:00"
    expect(page.locator("[data-icb-next-sync]")).to_contain_text(tonight)
    expect(page.get_by_text("Mapping Settings Incomplete")).to_have_count(0)

    # Stop: confirm, units kept and editable again.
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Stop Integrated Customer Billing").click()
    expect(page.get_by_text("billed manually again")).to_be_visible()
    units = page.locator("#service-units")
    expect(units).to_be_enabled()
    expect(units).to_have_value("23.00")
    units.fill("24")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("The service was saved.")).to_be_visible()
    assert str(Service.objects.get(pk=service.pk).units) == "24.00"


def test_stop_while_the_hub_is_disconnected(page, live_server, hub):
    """With the hub disconnected, the service still shows its sync panel (the last sync,
    and why no next one comes) and can be returned to manual billing."""
    from icb.billing_sync.services import enable_icb, sync_now

    company = make_company("Acme MSP")
    admin = make_user(company, "admin@acme.test")
    account = make_account(company, "Harbor Dental Group", "HARBOR")
    contract = make_contract(account, "Managed Services")
    make_hub_connection(company, hub.obtain_tokens(), read_directory=True)
    org = Organization.objects.filter(module__company=company, module__code="rmm").first()
    hub.set_quantity("rmm", org.external_id, "workstations", "17")
    make_mapping(account, org)
    service = enable_icb(
        service=make_service(contract, "Managed Workstations", units="1"),
        actor=admin,
        module="rmm",
        billing_type="workstations",
    )
    service = sync_now(service=service, actor=admin)
    assert service.units == 17
    synced_on = service.last_sync_at.astimezone(company.zone)
    login(page, live_server, "admin@acme.test", PASSWORD)

    # Disconnect the hub with its switch.
    page.goto(f"{live_server.url}/admin/integrations/hub/")
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("switch").click()
    expect(page.get_by_role("switch")).to_have_attribute("aria-checked", "false")

    page.goto(f"{live_server.url}/finance/contracts/{contract.pk}/services/{service.pk}/")
    expect(page.locator("[data-icb-last-sync]")).to_contain_text(f"{synced_on:%Y-%m-%d %H:%M}")
    expect(page.locator("[data-icb-next-sync]")).to_have_text(
        "None while Integration Hub is disconnected"
    )
    expect(page.locator("#service-units")).to_be_disabled()

    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Stop Integrated Customer Billing").click()
    expect(page.get_by_text("billed manually again")).to_be_visible()
    units = page.locator("#service-units")
    expect(units).to_be_enabled()
    expect(units).to_have_value("17.00")
    assert Service.objects.get(pk=service.pk).billing_mode == "manual"


def test_adding_a_mapped_icb_service_shows_its_synced_units(page, live_server, hub):
    """Saving a service with ICB on syncs it at once: its units come from the hub right
    after saving, without a click on the sync icon or waiting for midnight."""
    company = make_company("Acme MSP")
    make_user(company, "admin@acme.test")
    account = make_account(company, "Harbor Dental Group", "HARBOR")
    contract = make_contract(account, "Managed Services")
    make_hub_connection(company, hub.obtain_tokens(), read_directory=True)
    org = Organization.objects.filter(module__company=company, module__code="rmm").first()
    hub.set_quantity("rmm", org.external_id, "workstations", "23")
    make_mapping(account, org)
    login(page, live_server, "admin@acme.test", PASSWORD)

    page.goto(f"{live_server.url}/finance/contracts/{contract.pk}/?tab=billing")
    page.get_by_role("button", name="Add", exact=True).click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Service name").fill("Managed Workstations")
    dialog.get_by_label("Unit price (USD)").fill("45")
    dialog.locator("#service-units").fill("1")
    dialog.get_by_role("tab", name="Integrated Customer Billing").click()
    dialog.get_by_label("Module", exact=True).select_option(label="RMM")
    dialog.get_by_label("Billing Type", exact=True).select_option(label="Desktop & Laptop")
    expect(dialog.get_by_role("img", name=NOT_MAPPED)).to_be_hidden()
    dialog.get_by_role("button", name="Save").click()

    expect(page.get_by_text("Service “Managed Workstations” was added.")).to_be_visible()
    expect(page.get_by_text("Synced: 23.00 units.")).to_be_visible()
    row = page.get_by_role("row").filter(has_text="Managed Workstations")
    expect(row.get_by_role("cell").nth(2)).to_have_text("23.00")
    expect(row.get_by_role("cell").nth(3)).to_have_text("1,035.00 USD")

    # Switching an existing manual service to ICB syncs it at once too.
    manual = make_service(contract, "Servers", units="1")
    hub.set_quantity("rmm", org.external_id, "servers", "4")
    page.goto(f"{live_server.url}/finance/contracts/{contract.pk}/services/{manual.pk}/")
    page.get_by_role("tab", name="Integrated Customer Billing").click()
    page.get_by_label("Module", exact=True).select_option(label="RMM")
    page.get_by_label("Billing Type", exact=True).select_option(label="Server")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("The service was saved.")).to_be_visible()
    expect(page.get_by_text("Synced: 4.00 units.")).to_be_visible()
    expect(page.locator("#service-units")).to_have_value("4.00")
    expect(page.locator("#service-units")).to_be_disabled()
