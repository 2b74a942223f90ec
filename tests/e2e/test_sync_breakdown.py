"""A customer asks "why 109 workstations?": the finance admin answers from the pages, in
Chromium. The unit history's sync row opens to the organizations and quantities behind
the number, its run link leads to the run page with the same breakdown, and both pages
print with the breakdown open and without menus or buttons.

Screenshots of both pages go to $ICB_SCREENSHOTS (a directory) when set, else to the
test's temporary directory."""

import uuid
from datetime import datetime
from pathlib import Path

import pytest
from playwright.sync_api import expect

from icb.billing_sync.services import enable_icb
from icb.contracts.models import ServiceUnitChange
from icb.hub.models import Organization
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

PARENT = "Harbor Dental Group, Inc."
SITE = "HARBOR DENTAL – Boston Office"


def _rows(table) -> list[list[str]]:
    """The text of each cell of a table's body rows."""
    return [
        [" ".join(cell.split()) for cell in row.locator("th, td").all_inner_texts()]
        for row in table.locator("tbody tr").all()
    ]


def test_why_109_workstations(page, live_server, hub, shots):
    company = make_company("Acme MSP")
    admin = make_user(company, "admin@acme.test")
    account = make_account(company, "Harbor Dental Group", "HARBOR")
    contract = make_contract(account, "Managed Services")
    # The customer at the hub: a parent with 100 workstations of its own, a site with 9.
    parent_id, site_id = (f"e2e-{uuid.uuid4().hex[:8]}" for _ in range(2))
    hub.add_organization("rmm", PARENT, id=parent_id, quantities={"workstations": "100"})
    hub.add_organization(
        "rmm", SITE, id=site_id, parent_id=parent_id, quantities={"workstations": "9"}
    )
    make_hub_connection(company, hub.obtain_tokens(), read_directory=True)
    for external_id in (parent_id, site_id):
        make_mapping(account, Organization.objects.get(company=company, external_id=external_id))
    service = enable_icb(
        service=make_service(contract, "Managed Workstations", units="1"),
        actor=admin,
        module="rmm",
        billing_type="workstations",
    )
    login(page, live_server, "admin@acme.test", PASSWORD)

    page.goto(f"{live_server.url}/finance/contracts/{contract.pk}/services/{service.pk}/")
    page.get_by_role("button", name="Sync now").click()
    expect(page.get_by_text("Synced: 109.00 units.")).to_be_visible()

    change = ServiceUnitChange.objects.filter(service=service, source="sync").latest("id")
    zone = company.zone
    measured = {
        o: f"{datetime.fromisoformat(t).astimezone(zone):%Y-%m-%d %H:%M %Z}"
        for o, t in change.detail["measured_at"].items()
    }
    history = page.get_by_role("region", name="Unit history")
    entry = history.locator("tbody.history-entry").first
    expect(entry.locator("td").nth(2)).to_have_text("109.00")
    breakdown = entry.locator("details.breakdown")
    table = breakdown.get_by_role("table")
    expect(table).to_be_hidden()  # collapsed until asked
    breakdown.locator("summary").click()
    expect(table).to_be_visible()
    expect(breakdown.locator("summary")).to_contain_text("Quantities behind 109.00")
    expected = [
        [f"{PARENT} {parent_id}", "—", "100.00", measured[parent_id]],
        [f"{SITE} {site_id}", PARENT, "9.00", measured[site_id]],
    ]
    assert _rows(table) == expected
    expect(table.locator("tfoot")).to_contain_text("Total = new units")
    expect(table.locator("tfoot td.num")).to_have_text("109.00")
    page.screenshot(path=str(shots / "service-history-breakdown.png"), full_page=True)

    _prints_open_without_menus_or_buttons(
        page, history.locator("details.breakdown").first, shots / "service-history-print.png"
    )

    entry.get_by_role("link", name=f"run #{change.sync_run_id}").click()
    expect(page.get_by_role("heading", name=f"Sync run #{change.sync_run_id}")).to_be_visible()
    run_entry = page.locator("tbody.run-entry").first
    cells = run_entry.locator("tr").first.locator("td")
    expect(cells.nth(0)).to_have_text("Managed Workstations")
    expect(cells.nth(3)).to_have_text("1.00")
    expect(cells.nth(4)).to_have_text("109.00")
    run_breakdown = run_entry.locator("details.breakdown")
    expect(run_breakdown.get_by_role("table")).to_be_hidden()
    _prints_open_without_menus_or_buttons(page, run_breakdown, shots / "run-print.png")
    run_breakdown.locator("summary").click()
    assert _rows(run_breakdown.get_by_role("table")) == expected
    expect(run_breakdown.locator("tfoot td.num")).to_have_text("109.00")
    page.screenshot(path=str(shots / "run-breakdown.png"), full_page=True)


def _prints_open_without_menus_or_buttons(page, breakdown, shot: Path) -> None:
    """In print, a collapsed breakdown shows its table; menus, filters, buttons do not."""
    was_open = breakdown.evaluate("d => d.open")
    breakdown.evaluate("d => { d.open = false; }")
    page.emulate_media(media="print")
    try:
        expect(breakdown.get_by_role("table")).to_be_visible()
        expect(breakdown.locator("tfoot")).to_be_visible()
        expect(page.get_by_role("navigation", name="Main menu")).to_be_hidden()
        expect(page.locator("header.topbar")).to_be_hidden()
        for button in page.locator("button").all():
            expect(button).to_be_hidden()
        page.screenshot(path=str(shot), full_page=True)
    finally:
        page.emulate_media(media="screen")
        breakdown.evaluate(f"d => {{ d.open = {'true' if was_open else 'false'}; }}")
