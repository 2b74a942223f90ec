import pytest
from playwright.sync_api import expect

from icb.tenancy.models import User
from tests.clients import login
from tests.factories import PASSWORD, make_company, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_admin_creates_a_view_only_role_and_user(page, live_server):
    company = make_company("Acme MSP")
    make_user(company, "admin@acme.test")
    login(page, live_server, "admin@acme.test", PASSWORD)

    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Roles").click()
    page.get_by_role("link", name="New role").click()
    page.get_by_label("Name", exact=True).fill("Mapping viewer")
    page.get_by_label("Hub Settings: View").check()
    page.get_by_label("CRM Accounts: View").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Role “Mapping viewer” saved.")).to_be_visible()

    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Users").click()
    page.get_by_role("button", name="New user").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Email").fill("viewer@acme.test")
    dialog.get_by_label("Role").select_option(label="Mapping viewer")
    dialog.get_by_label("Initial password").fill("Plenty-Of-Entropy-9")
    dialog.get_by_role("button", name="Create user").click()
    expect(page.get_by_text("User viewer@acme.test created.")).to_be_visible()
    assert User.objects.get(email="viewer@acme.test").role.hub_settings == "view"

    page.get_by_role("button", name="Log out").click()
    login(page, live_server, "viewer@acme.test", "Plenty-Of-Entropy-9")
    menu = page.get_by_role("navigation", name="Main menu")
    expect(menu.get_by_role("link", name="Accounts")).to_be_visible()
    expect(menu.get_by_role("link", name="Roles")).to_have_count(0)
    expect(menu.get_by_role("link", name="Contracts")).to_have_count(0)
