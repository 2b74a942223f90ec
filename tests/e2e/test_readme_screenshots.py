"""The pages the README shows, with realistic data, in Chromium: a contract's billing
(money grouped by thousands, dates and amounts on one line even in a narrow window), the
mapping page and the hub page.

The README's screenshots come from here: `make screenshots` runs these tests (and the
breakdown's) with ICB_SCREENSHOTS=docs/screenshots, so they stay true to the pages.
Without ICB_SCREENSHOTS they go to the test's temporary directory."""

import uuid
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from icb.billing_sync.services import enable_icb, sync_now
from icb.hub.models import HubConnection, Organization
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

# The lines of a cell's text (boxes whose tops differ by more than a few pixels).
LINES_OF_CELLS = """cells => cells.map(cell => {
  const range = document.createRange();
  range.selectNodeContents(cell);
  const tops = [...range.getClientRects()]
    .filter(r => r.width > 0 && r.height > 0)
    .map(r => r.top)
    .sort((a, b) => a - b);
  let lines = tops.length ? 1 : 0;
  for (let i = 1; i < tops.length; i++) { if (tops[i] - tops[i - 1] > 8) { lines++; } }
  return [cell.innerText.trim(), lines];
})"""
# Cells holding money, quantities or times.
NUMBER_AND_TIME_CELLS = "table.data td.num, table.data td.nowrap, table.data td:has(time)"


def _org(hub, company, module, name, quantities, parent=None):
    """An organization at the sandbox hub (a fresh id, the sandbox is shared)."""
    external_id = f"{module[:3]}-{uuid.uuid4().hex[:6]}"
    hub.add_organization(module, name, id=external_id, parent_id=parent, quantities=quantities)
    return external_id


def _harbor_dental(hub):
    """Demo MSP's customer Harbor Dental Group: its organizations in three modules of the
    hub, mapped, and a contract of four synced services and one flat fee."""
    company = make_company("Demo MSP")
    admin = make_user(company, "admin@example.com")
    harbor = make_account(company, "Harbor Dental Group", "HARBOR")
    cedar = make_account(company, "Cedar Law Partners", "CEDAR")
    make_account(company, "Northwind Logistics", "NORTHWIND")
    make_account(company, "Summit Orthopedics", "SUMMIT")
    ids = {}
    ids["hq"] = _org(
        hub, company, "rmm", "Harbor Dental Group, Inc.", {"workstations": "100", "servers": "5"}
    )
    ids["boston"] = _org(
        hub,
        company,
        "rmm",
        "HARBOR DENTAL – Boston Office",
        {"workstations": "9", "servers": "2"},
        parent=ids["hq"],
    )
    ids["backup"] = _org(hub, company, "backup", "Harbor Dental Group", {"protected_devices": "14"})
    ids["docs"] = _org(hub, company, "docs", "Harbor Dental Group", {"users": "38"})
    ids["cedar"] = _org(hub, company, "rmm", "Cedar Law Partners LLP", {"workstations": "31"})
    connection = make_hub_connection(company, hub.obtain_tokens(), read_directory=True)
    HubConnection.objects.filter(pk=connection.pk).update(connected_by=admin)
    for key in ("hq", "boston", "backup", "docs"):
        make_mapping(harbor, Organization.objects.get(company=company, external_id=ids[key]))
    make_mapping(cedar, Organization.objects.get(company=company, external_id=ids["cedar"]))

    contract = make_contract(harbor, "Managed Services")
    for name, price, module, billing_type in [
        ("Managed Workstations", "45.00", "rmm", "workstations"),
        ("Managed Servers", "120.00", "rmm", "servers"),
        ("Backup & Disaster Recovery", "35.00", "backup", "protected_devices"),
        ("IT Documentation", "6.50", "docs", "users"),
    ]:
        service = make_service(contract, name, unit_price=price, units="1")
        service = enable_icb(service=service, actor=admin, module=module, billing_type=billing_type)
        sync_now(service=service, actor=admin)
    make_service(contract, "Help Desk (flat fee)", unit_price="1250.00", units="1")
    return company, contract


def test_contract_billing_hub_and_mapping_pages(page, live_server, hub, shots):
    company, contract = _harbor_dental(hub)
    login(page, live_server, "admin@example.com", PASSWORD)

    page.goto(f"{live_server.url}/finance/contracts/{contract.pk}/?tab=billing")
    table = page.get_by_role("tabpanel", name="Billing Information").get_by_role("table")
    row = table.get_by_role("row").filter(has_text="Managed Workstations")
    expect(row.locator("td.num")).to_have_text(["45.00 USD", "109.00", "4,905.00 USD"])
    expect(table.locator("tfoot td.num")).to_have_text("7,732.00 USD")
    expect(
        table.get_by_role("row").filter(has_text="Help Desk").locator("td.num").first
    ).to_have_text("1,250.00 USD")
    assert sum(s.amount for s in contract.services.all()) == Decimal("7732.00")

    # Money and times never wrap, even in a narrow window.
    page.set_viewport_size({"width": 1000, "height": 900})
    lines = page.eval_on_selector_all(NUMBER_AND_TIME_CELLS, LINES_OF_CELLS)
    assert lines and any("EST" in text or "EDT" in text for text, _ in lines)
    assert [(text, n) for text, n in lines if n != 1] == []
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(shots / "contract.png"), full_page=True)

    page.goto(f"{live_server.url}/admin/my-company/hub-settings/")
    grid = page.locator("table.mapping-grid")
    # the default columns: the most mapped modules
    expect(grid.get_by_role("columnheader")).to_have_text(
        ["Account", "RMM", "BCDR Backup", "IT Documentation"]
    )
    harbor_row = grid.get_by_role("row").filter(has_text="Harbor Dental Group")
    chips = harbor_row.locator('[data-module="rmm"] .chip-name')
    expect(chips).to_have_count(2)
    assert sorted(chips.all_inner_texts()) == [
        "HARBOR DENTAL – Boston Office",
        "Harbor Dental Group, Inc.",
    ]
    page.screenshot(path=str(shots / "mapping.png"), full_page=True)

    page.goto(f"{live_server.url}/admin/integrations/hub/")
    expect(page.get_by_role("switch")).to_have_attribute("aria-checked", "true")
    expect(page.get_by_role("cell", name="RMM rmm")).to_be_visible()
    page.screenshot(path=str(shots / "hub.png"), full_page=True)
