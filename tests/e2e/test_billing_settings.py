"""Billing settings as a finance admin meets them: the company defaults, a contract's
own settings beside the defaults in effect, an account's tax rate, and a service with a
unit history ended instead of deleted."""

import datetime
import re

import pytest
from playwright.sync_api import expect

from icb.contracts.services import service_create, service_update
from icb.hub.models import Module
from tests.clients import login
from tests.factories import PASSWORD, make_account, make_company, make_contract, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_billing_settings_contract_account_and_ending_a_service(page, live_server, shots):
    company = make_company("Acme MSP")
    admin = make_user(company, "admin@acme.test")
    Module.objects.create(company=company, code="rmm", name="Remote Monitoring")
    Module.objects.create(company=company, code="backup", name="Cloud Backup")
    account = make_account(company, "Harbor Dental Group", "HARBOR")
    contract = make_contract(
        account, "Managed Services 2026", start_date=datetime.date(2026, 10, 1)
    )
    service = service_create(
        contract=contract,
        actor=admin,
        name="Managed backup",
        unit_price="3.00",
        units="10",
        start_date="2026-10-01",
    )
    service_update(service=service, actor=admin, units="20")
    login(page, live_server, "admin@acme.test", PASSWORD)

    page.get_by_role("navigation", name="Main menu").get_by_role(
        "link", name="Billing settings"
    ).click()
    page.get_by_label("Payment terms (days)").fill("999")
    page.get_by_label("Tax rate (%)").fill("8.25")
    page.get_by_label("Remote Monitoring").fill("4100")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Payment terms: enter a number of days from 0 to 365")).to_be_visible()
    page.screenshot(path=shots / "billing-settings-error.png", full_page=True)
    page.get_by_label("Payment terms (days)").fill("14")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("The billing settings were saved.")).to_be_visible()
    page.screenshot(path=shots / "billing-settings.png", full_page=True)
    company.refresh_from_db()
    assert company.payment_terms_days == 14

    page.goto(f"{live_server.url}/finance/contracts/{contract.pk}/")
    expect(page.get_by_text("14 days (company default)")).to_be_visible()
    page.get_by_label("Billing timing").select_option("arrears")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("The contract was saved.")).to_be_visible()
    expect(page.get_by_text("In arrears", exact=True).first).to_be_visible()
    page.screenshot(path=shots / "contract-billing-settings.png", full_page=True)

    page.goto(f"{live_server.url}/finance/contracts/{contract.pk}/services/{service.pk}/")
    expect(page.get_by_role("button", name="Delete")).to_have_count(0)
    page.screenshot(path=shots / "service-end-button.png")
    page.get_by_label("Last day billed").fill("2026-12-31")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="End service").click()
    expect(page.get_by_text("ends on 2026-12-31")).to_be_visible()
    page.screenshot(path=shots / "service-ended.png", full_page=True)

    page.goto(f"{live_server.url}/admin/crm/accounts/{account.pk}/")
    expect(page.get_by_label("Tax rate (%)")).to_have_attribute("placeholder", "8.25")
    page.get_by_label("Accounting contact").fill("Harbor Dental Group LLC")
    page.get_by_role("button", name=re.compile("^Save")).click()
    expect(page.get_by_text("saved")).to_be_visible()
    page.screenshot(path=shots / "account-billing.png", full_page=True)
