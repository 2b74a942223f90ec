"""The seed's "K1 integration" steps in a browser: from the service window's link to the
hub page, the switch, the hub's own sign-in page, and back with the success message."""

import pytest
from playwright.sync_api import expect

from icb.hub.models import HubConnection, Module
from sandbox_hub.runner import start_sandbox
from tests.clients import login
from tests.factories import PASSWORD, make_account, make_company, make_contract, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="session")
def e2e_sandbox(live_server):
    handle = start_sandbox(
        redirect_uri=f"{live_server.url}/admin/integrations/hub/callback/", organizations=12
    )
    yield handle
    handle.stop()


@pytest.fixture
def hub_settings(settings, e2e_sandbox):
    settings.ICB_HUB_URL = e2e_sandbox.url
    settings.ICB_HUB_CLIENT_SECRET = "icb-sandbox-secret"
    return e2e_sandbox


def test_connect_from_the_service_window_and_disconnect(page, live_server, hub_settings):
    company = make_company("Acme MSP")
    make_user(company, "admin@acme.test")
    contract = make_contract(make_account(company))
    login(page, live_server, "admin@acme.test", PASSWORD)

    # Finance > Contracts > contract > Billing Information > Add > ICB tab: the link.
    page.goto(f"{live_server.url}/finance/contracts/{contract.pk}/?tab=billing")
    page.get_by_role("button", name="Add", exact=True).click()
    dialog = page.get_by_role("dialog", name="Add Service")
    dialog.get_by_role("tab", name="Integrated Customer Billing").click()
    expect(dialog.get_by_role("note")).to_have_text(
        "This requires a connection to Integration Hub. Set up the connection"
    )
    dialog.get_by_role("link", name="Set up the connection").click()

    switch = page.get_by_role("switch")
    expect(switch).to_have_attribute("aria-checked", "false")
    switch.click()
    # The hub's own sign-in page.
    page.get_by_label("Username").fill("demo")
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Allow").click()

    expect(page.get_by_text("Operation is completed successfully.")).to_be_visible()
    expect(page.get_by_role("switch")).to_have_attribute("aria-checked", "true")
    expect(page.get_by_role("main").get_by_text("admin@acme.test")).to_be_visible()
    expect(page.get_by_role("cell", name="RMM", exact=False).first).to_be_visible()
    assert HubConnection.objects.filter(company=company).exists()
    assert Module.objects.filter(company=company).count() >= 6

    page.once("dialog", lambda d: d.accept())
    page.get_by_role("switch").click()
    expect(page.get_by_role("switch")).to_have_attribute("aria-checked", "false")
    assert not HubConnection.objects.filter(company=company).exists()


def test_cancelled_sign_in_leaves_the_switch_off(page, live_server, hub_settings):
    company = make_company("Acme MSP")
    make_user(company, "admin@acme.test")
    login(page, live_server, "admin@acme.test", PASSWORD)
    page.goto(f"{live_server.url}/admin/integrations/hub/")
    page.get_by_role("switch").click()
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_text("was cancelled")).to_be_visible()
    expect(page.get_by_role("switch")).to_have_attribute("aria-checked", "false")
    assert not HubConnection.objects.filter(company=company).exists()


def test_enter_in_the_password_field_signs_in_at_the_hub(page, live_server, hub_settings):
    """Enter submits a form with its first submit button: that must be Sign in, not
    Cancel (which would end the connection attempt)."""
    company = make_company("Acme MSP")
    make_user(company, "admin@acme.test")
    login(page, live_server, "admin@acme.test", PASSWORD)
    page.goto(f"{live_server.url}/admin/integrations/hub/")
    page.get_by_role("switch").click()
    page.get_by_label("Username").fill("demo")
    page.get_by_label("Password").fill("demo")
    # Cancel still sits left of Sign in.
    cancel = page.get_by_role("button", name="Cancel").bounding_box()
    sign_in = page.get_by_role("button", name="Sign in").bounding_box()
    assert cancel and sign_in and cancel["x"] < sign_in["x"]
    page.get_by_label("Password").press("Enter")

    page.get_by_role("button", name="Allow").click()
    expect(page.get_by_text("Operation is completed successfully.")).to_be_visible()
    assert HubConnection.objects.filter(company=company).exists()
