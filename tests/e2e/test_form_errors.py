"""The Add Service window names every invalid field in one submit, on both tabs, and
marks each tab that holds an error."""

import pytest
from playwright.sync_api import expect

from icb.contracts.models import Service
from tests.clients import login
from tests.factories import (
    PASSWORD,
    make_account,
    make_company,
    make_contract,
    make_hub_connection,
    make_module,
    make_user,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_one_submit_shows_every_error_and_marks_the_tabs(page, live_server):
    company = make_company("Acme MSP")
    make_user(company, "admin@acme.test")
    make_hub_connection(company)
    make_module(company, "rmm", "RMM")
    contract = make_contract(make_account(company, "Harbor Dental Group", "HARBOR"))
    login(page, live_server, "admin@acme.test", PASSWORD)
    page.goto(f"{live_server.url}/finance/contracts/{contract.pk}/?tab=billing")
    page.get_by_role("button", name="Add", exact=True).click()
    dialog = page.get_by_role("dialog", name="Add Service")
    dialog.get_by_label("Unit price (USD)").fill("abc")
    dialog.get_by_label("Units").fill("1.234")
    dialog.get_by_role("tab", name="Integrated Customer Billing").click()
    dialog.get_by_label("Module", exact=True).select_option(label="RMM")  # no billing type chosen
    dialog.get_by_role("button", name="Save").click()

    dialog = page.get_by_role("dialog", name="Add Service")
    expect(dialog).to_be_visible()
    general = dialog.get_by_role("tab", name="General (has errors)")
    icb = dialog.get_by_role("tab", name="Integrated Customer Billing (has errors)")
    expect(general).to_have_attribute("aria-selected", "true")
    expect(icb).to_be_visible()
    for label in ("Service name", "Unit price (USD)", "Units"):
        expect(dialog.get_by_label(label)).to_have_attribute("aria-invalid", "true")
    expect(dialog.locator("#service-unit_price_error")).to_contain_text("is not a number")
    expect(dialog.locator("#service-units_error")).to_contain_text("decimal places")
    icb.click()
    expect(dialog.get_by_role("alert").filter(has_text="Choose a billing type.")).to_be_visible()
    assert not Service.objects.exists()
