import re

import pytest
from playwright.sync_api import expect

from icb.mapping.models import Mapping, MappingChange
from icb.mapping.services import CellChange, apply_changes
from icb.tenancy.models import Level
from tests.clients import login
from tests.factories import (
    PASSWORD,
    make_account,
    make_company,
    make_hub_connection,
    make_module,
    make_org,
    make_role,
    make_user,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PAGE = "/admin/my-company/hub-settings/"
# Whether leaving the page now would ask first (the beforeunload handler cancels).
LEAVING_WARNS = """() => {
  const event = new Event("beforeunload", {cancelable: true});
  window.dispatchEvent(event);
  return event.defaultPrevented;
}"""


def setup_company():
    company = make_company("Acme MSP")
    admin = make_user(company, "admin@acme.test")
    modules = {
        code: make_module(company, code, name)
        for code, name in [
            ("rmm", "RMM"),
            ("backup", "Backup"),
            ("docs", "Documentation"),
            ("phish", "Phishing Training"),
        ]
    }
    rmm = modules["rmm"]
    make_org(rmm, "R-100", "Harbor Dental")
    make_org(rmm, "R-101", "Harbor Dental East", parent="R-100")
    make_org(rmm, "R-102", "Harbor Dental West", parent="R-100")
    make_org(rmm, "R-200", "Cedar Law")
    harbor = make_account(company, "Harbor Dental Group", "HDG")
    cedar = make_account(company, "Cedar Law Partners", "CLP")
    apply_changes(company=company, user=admin, changes=[CellChange(cedar.pk, "rmm", add=["R-102"])])
    make_hub_connection(company)
    return company, harbor


def test_map_a_parent_and_a_child_choose_columns_and_save(page, live_server):
    company, harbor = setup_company()
    login(page, live_server, "admin@acme.test", PASSWORD)
    page.get_by_role("navigation", name="Main menu").get_by_role(
        "link", name="Integration Hub Settings"
    ).click()
    expect(page.get_by_role("heading", name="Organization Mapping")).to_be_visible()
    grid = page.locator("table.mapping-grid")
    # the default columns: the most mapped module (RMM) first, then backup, documentation
    expect(grid.get_by_role("columnheader")).to_have_text(
        ["Account", "RMM", "Backup", "Documentation"]
    )

    # the column chooser: a fourth column is refused; swap one and apply
    page.get_by_role("button", name="Choose columns").click()
    dialog = page.get_by_role("dialog", name="Choose columns")
    dialog.get_by_label("Phishing Training").click()  # a fourth: refused
    expect(dialog.get_by_role("alert")).to_contain_text("at most three columns")
    expect(dialog.get_by_label("Phishing Training")).not_to_be_checked()
    dialog.get_by_label("Documentation").uncheck()
    dialog.get_by_label("Phishing Training").check()
    dialog.get_by_role("button", name="Apply").click()
    expect(grid.get_by_role("columnheader")).to_have_text(
        ["Account", "Backup", "Phishing Training", "RMM"]
    )

    # pick a parent with the mouse and its child with the keyboard
    page.get_by_role("button", name="Not mapped: RMM for Harbor Dental Group").click()
    search = page.get_by_label("Search RMM organizations for Harbor Dental Group")
    expect(search).to_be_focused()
    search.fill("Harbor")
    listbox = page.get_by_role("listbox")
    expect(listbox.get_by_role("option")).to_have_count(3)
    west = listbox.get_by_role("option", name="Harbor Dental West")
    expect(west).to_have_attribute("aria-disabled", "true")
    expect(west).to_contain_text("Mapped to Cedar Law Partners")
    listbox.get_by_role("option", name="Harbor Dental R-100").click()
    search.press("ArrowDown")
    search.press("Enter")
    expect(listbox.get_by_role("option", selected=True)).to_have_count(2)
    search.press("Escape")
    expect(listbox).to_be_hidden()
    cell = page.locator(f'[data-cell][data-account-id="{harbor.pk}"][data-module="rmm"]')
    expect(cell.locator(".chip-name")).to_have_text(["Harbor Dental", "Harbor Dental East"])
    assert not Mapping.objects.filter(account=harbor).exists()  # not saved yet
    assert page.evaluate(LEAVING_WARNS)  # unsaved changes: leaving warns

    page.get_by_role("button", name="Save", exact=True).click()
    saved = page.get_by_role("status").filter(has_text="Organization mapping saved.")
    expect(saved).to_be_visible()
    assert sorted(
        Mapping.objects.filter(account=harbor).values_list("organization__external_id", flat=True)
    ) == ["R-100", "R-101"]
    assert MappingChange.objects.filter(account=harbor, action="added").count() == 2
    assert not page.evaluate(LEAVING_WARNS)

    # the account's ITC Integrations Mapping section shows the same
    page.get_by_role("link", name="Harbor Dental Group").click()
    section = page.locator("#itc-integrations-mapping")
    expect(section.get_by_role("heading", name="ITC Integrations Mapping")).to_be_visible()
    expect(section.locator('[data-module="rmm"] .chip-name')).to_have_text(
        ["Harbor Dental", "Harbor Dental East"]
    )
    expect(section.locator("[data-cell]")).to_have_count(4)

    # ...and edits there: remove the child, save
    section.get_by_role("button", name="Remove Harbor Dental East (R-101)").click()
    section.get_by_role("button", name="Save mapping").click()
    expect(section.get_by_text("Organization mapping saved.")).to_be_visible()
    assert list(
        Mapping.objects.filter(account=harbor).values_list("organization__external_id", flat=True)
    ) == ["R-100"]


def test_a_view_only_user_sees_no_save(page, live_server):
    company, harbor = setup_company()
    role = make_role(company, "Mapping viewer", hub_settings=Level.VIEW, crm_accounts=Level.VIEW)
    make_user(company, "viewer@acme.test", role=role)
    login(page, live_server, "viewer@acme.test", PASSWORD)
    page.goto(f"{live_server.url}{PAGE}")
    expect(page.get_by_role("heading", name="Organization Mapping")).to_be_visible()
    expect(page.get_by_text("Your role can view the mapping but not change it.")).to_be_visible()
    expect(page.get_by_role("button", name="Save")).to_have_count(0)
    expect(page.get_by_role("button", name="Not mapped")).to_have_count(0)
    expect(page.get_by_text("Not mapped").first).to_be_visible()


def test_a_conflicting_save_is_refused_naming_the_account_and_keeps_the_changes(page, live_server):
    company, harbor = setup_company()
    admin = company.users.get(email="admin@acme.test")
    login(page, live_server, "admin@acme.test", PASSWORD)
    page.goto(f"{live_server.url}{PAGE}?modules=rmm")
    page.get_by_role("button", name="Choose columns").click()
    dialog = page.get_by_role("dialog", name="Choose columns")
    for name in ("Backup", "Documentation", "Phishing Training"):
        dialog.get_by_label(name).uncheck()
    dialog.get_by_label("RMM").check()
    dialog.get_by_role("button", name="Apply").click()
    expect(page.locator("table.mapping-grid").get_by_role("columnheader")).to_have_text(
        ["Account", "RMM"]
    )

    page.get_by_role("button", name="Not mapped: RMM for Harbor Dental Group").click()
    search = page.get_by_label("Search RMM organizations for Harbor Dental Group")
    listbox = page.get_by_role("listbox", name="RMM organizations")
    search.fill("Cedar")
    expect(listbox.get_by_role("option")).to_have_count(1)
    listbox.get_by_role("option", name="Cedar Law R-200").click()
    search.press("Escape")
    # Meanwhile someone else maps it to another account.
    other = make_account(company, "Other Client", "OTH")
    apply_changes(company=company, user=admin, changes=[CellChange(other.pk, "rmm", add=["R-200"])])
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("alert").filter(has_text="Other Client")).to_be_visible()
    cell = page.locator(f'[data-cell][data-account-id="{harbor.pk}"][data-module="rmm"]')
    expect(cell).to_have_class(re.compile(r"\bis-error\b"))
    expect(cell.locator(".chip-name")).to_have_text(["Cedar Law"])  # kept, not saved
    assert not Mapping.objects.filter(account=harbor).exists()
    # The picker now tells who holds it.
    cell.get_by_role("button", name="Add organization: RMM for Harbor Dental Group").click()
    search.fill("Cedar")
    expect(listbox.get_by_role("option")).to_have_count(1)
    expect(listbox.get_by_role("option", name="Cedar Law R-200")).to_contain_text("Other Client")


def test_recent_mapping_changes_follow_each_save_and_name_the_module(page, live_server):
    company, harbor = setup_company()
    login(page, live_server, "admin@acme.test", PASSWORD)
    page.goto(f"{live_server.url}/admin/crm/accounts/{harbor.pk}/?tab=icb")
    section = page.locator("#itc-integrations-mapping")
    history = section.locator("details.mapping-history")
    expect(history).to_be_hidden()  # nothing changed yet

    section.get_by_role("button", name="Not mapped: RMM for Harbor Dental Group").click()
    search = page.get_by_label("Search RMM organizations for Harbor Dental Group")
    search.fill("Harbor")
    page.get_by_role("listbox").get_by_role("option", name="Harbor Dental R-100").click()
    search.press("Escape")
    section.get_by_role("button", name="Save mapping").click()
    expect(section.get_by_text("Organization mapping saved.")).to_be_visible()

    # without a reload, the list shows the change, with the module's name
    expect(history).to_be_visible()
    history.locator("summary").click()
    items = history.get_by_role("listitem")
    expect(items).to_have_count(1)
    expect(items.first).to_contain_text("admin@acme.test added Harbor Dental R-100 in RMM")
    expect(items.first).not_to_contain_text("(rmm)")

    section.get_by_role("button", name="Remove Harbor Dental (R-100)").click()
    section.get_by_role("button", name="Save mapping").click()
    expect(items).to_have_count(2)
    expect(items.first).to_contain_text("admin@acme.test removed Harbor Dental R-100 in RMM")


def test_an_administrator_sets_the_companys_default_columns(page, live_server, browser):
    company, harbor = setup_company()
    role = make_role(company, "Mapping viewer", hub_settings=Level.VIEW, crm_accounts=Level.VIEW)
    make_user(company, "viewer@acme.test", role=role)
    login(page, live_server, "admin@acme.test", PASSWORD)
    page.goto(f"{live_server.url}{PAGE}")
    grid = page.locator("table.mapping-grid")
    page.get_by_role("button", name="Choose columns").click()
    dialog = page.get_by_role("dialog", name="Choose columns")
    expect(dialog).to_contain_text("Company default: RMM, Backup, Documentation")
    dialog.get_by_label("Backup").uncheck()
    dialog.get_by_label("Documentation").uncheck()
    dialog.get_by_label("Phishing Training").check()
    dialog.get_by_role("button", name="Make the company default").click()
    expect(grid.get_by_role("columnheader")).to_have_text(["Account", "Phishing Training", "RMM"])

    # another user who chose no columns sees the company's default, and no such button
    other = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        viewer_page = other.new_page()
        login(viewer_page, live_server, "viewer@acme.test", PASSWORD)
        viewer_page.goto(f"{live_server.url}{PAGE}")
        expect(viewer_page.locator("table.mapping-grid").get_by_role("columnheader")).to_have_text(
            ["Account", "Phishing Training", "RMM"]
        )
        viewer_page.get_by_role("button", name="Choose columns").click()
        viewer_dialog = viewer_page.get_by_role("dialog", name="Choose columns")
        expect(viewer_dialog).to_contain_text("(chosen by an administrator)")
        expect(viewer_dialog.get_by_role("button", name="Make the company default")).to_have_count(
            0
        )
    finally:
        other.close()
