"""The foundation as a user meets it: log in, create an account, a contract, add a
service, change its units and see the history; a view-only user cannot edit."""

import re

import pytest
from playwright.sync_api import expect

from icb.contracts.models import Service, ServiceUnitChange
from icb.crm.models import Account
from tests.clients import login
from tests.factories import (
    PASSWORD,
    make_account,
    make_company,
    make_contract,
    make_service,
    make_user,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_account_contract_service_and_unit_history(page, live_server):
    company = make_company("Acme MSP")
    make_user(company, "admin@acme.test")
    login(page, live_server, "admin@acme.test", PASSWORD)
    menu = page.get_by_role("navigation", name="Main menu")

    menu.get_by_role("link", name="Accounts").click()
    page.get_by_role("link", name="New account").click()
    page.get_by_label(re.compile(r"^Name\b")).fill("Harbor Dental Group")
    page.get_by_label(re.compile(r"^Code\b")).fill("HARBOR")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Harbor Dental Group")).to_be_visible()
    assert Account.objects.filter(company=company, code="HARBOR").exists()

    menu.get_by_role("link", name="Contracts").click()
    page.get_by_role("link", name="New contract").click()
    account_box = page.get_by_role("combobox", name="Account")
    account_box.fill("harb")  # searched as you type; chosen with the keyboard
    expect(page.get_by_role("option", name="Harbor Dental Group HARBOR")).to_be_visible()
    account_box.press("ArrowDown")
    account_box.press("Enter")
    expect(account_box).to_have_value("Harbor Dental Group (HARBOR)")
    page.get_by_label("Contract name").fill("Managed Services 2026")
    page.get_by_label("Start date").fill("2026-01-01")
    page.get_by_role("button", name="Create contract").click()
    expect(page.get_by_role("heading", name="Managed Services 2026")).to_be_visible()

    page.get_by_role("tab", name="Billing Information").click()
    page.get_by_role("button", name="Add", exact=True).click()
    dialog = page.get_by_role("dialog", name="Add Service")
    dialog.get_by_label("Service name").fill("Managed Workstations")
    dialog.get_by_label("Unit price (USD)").fill("45.00")
    dialog.get_by_label("Units").fill("12")
    dialog.get_by_role("tab", name="Integrated Customer Billing").click()
    dialog.get_by_role("tab", name="General").click()
    dialog.get_by_role("button", name="Save").click()
    row = page.get_by_role("row").filter(has_text="Managed Workstations")
    expect(row).to_contain_text("540.00")

    row.get_by_role("link", name="Managed Workstations").click()
    page.get_by_label("Units").fill("15.5")
    page.get_by_role("button", name="Save").click()
    history = page.get_by_role("region", name="Unit history")
    expect(history).to_contain_text("15.50")
    expect(history).to_contain_text("12.00")
    service = Service.objects.get(name="Managed Workstations")
    assert str(service.units) == "15.50"
    assert ServiceUnitChange.objects.filter(service=service).count() == 2


def test_view_only_user_cannot_edit(page, live_server):
    company = make_company("Acme MSP")
    service = make_service(make_contract(make_account(company)))
    make_user(company, "ro@acme.test", "Read-only")
    login(page, live_server, "ro@acme.test", PASSWORD)
    page.goto(f"{live_server.url}/finance/contracts/{service.contract_id}/?tab=billing")
    expect(page.get_by_role("heading", name="Billing Information")).to_be_visible()
    expect(page.get_by_role("button", name="Add", exact=True)).to_have_count(0)
    page.goto(f"{live_server.url}/finance/contracts/{service.contract_id}/services/{service.pk}/")
    expect(page.get_by_label("Units")).to_be_disabled()
    expect(page.get_by_role("button", name="Save")).to_have_count(0)
    expect(page.get_by_role("button", name="Delete")).to_have_count(0)
