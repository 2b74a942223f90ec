"""The hub restarts without its state and forgets our tokens: a sync fails, the pages say
the connection is lost, and one Reconnect signs in again, keeping every mapping, after
which syncing works again. In Chromium, against a sandbox hub restarted for real.

Screenshots go to $ICB_SCREENSHOTS (a directory) when set, else to the test's tmp dir."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from icb.billing_sync.services import enable_icb
from icb.contracts.models import Service
from icb.hub.models import HubConnection, Organization
from icb.mapping.models import Mapping
from sandbox_hub.runner import start_sandbox
from tests.clients import login
from tests.factories import (
    PASSWORD,
    make_account,
    make_company,
    make_contract,
    make_mapping,
    make_service,
    make_user,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

HUB = dict(organizations=12, seed=11)


@pytest.fixture
def restartable_hub(live_server, settings):
    """A sandbox hub of this test alone, which it restarts (a new process; with no state,
    unless given the state file `make run` gives it)."""
    callback = f"{live_server.url}/admin/integrations/hub/callback/"
    handles = []

    def start(state_file=None):
        handle = start_sandbox(redirect_uri=callback, state_file=state_file, **HUB)
        handles.append(handle)
        settings.ICB_HUB_URL = handle.url
        settings.ICB_HUB_CLIENT_SECRET = "icb-sandbox-secret"
        return handle

    yield start
    for handle in handles:
        handle.stop()


def sign_in_at_hub(page) -> None:
    page.get_by_label("Username").fill("demo")
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Allow").click()


def test_a_hub_that_forgot_our_tokens_is_reconnected_in_one_step(
    page, live_server, restartable_hub, shots
):
    company = make_company("Acme MSP")
    admin = make_user(company, "admin@acme.test")
    account = make_account(company, "Harbor Dental Group", "HARBOR")
    contract = make_contract(account, "Managed Services")
    hub = restartable_hub()
    login(page, live_server, "admin@acme.test", PASSWORD)
    hub_page = f"{live_server.url}/admin/integrations/hub/"
    page.goto(hub_page)
    page.get_by_role("switch").click()
    sign_in_at_hub(page)
    expect(page.get_by_text("Operation is completed successfully.")).to_be_visible()

    org = Organization.objects.filter(
        company=company, module__code="rmm", parent_external_id=""
    ).first()
    make_mapping(account, org, admin)
    service = enable_icb(
        service=make_service(contract, "Managed Workstations", units="1"),
        actor=admin,
        module="rmm",
        billing_type="workstations",
    )
    service_page = f"{live_server.url}/finance/contracts/{contract.pk}/services/{service.pk}/"
    hub.set_quantity("rmm", org.external_id, "workstations", "23")
    page.goto(service_page)
    page.get_by_role("button", name="Sync now").click()
    expect(page.locator("#service-units")).to_have_value("23.00")

    # The hub restarts without its state: it no longer knows our tokens.
    hub.stop()
    hub = restartable_hub()
    hub.set_quantity("rmm", org.external_id, "workstations", "31")
    page.get_by_role("button", name="Sync now").click()
    banner = page.locator(".hub-banner")
    expect(banner).to_contain_text("The connection to Integration Hub is lost.")
    expect(banner).to_contain_text("refused the refresh token we hold")
    expect(page.locator("#service-units")).to_have_value("23.00")  # units kept
    expect(page.get_by_text("Sync failed", exact=True)).to_be_visible()
    page.screenshot(path=str(shots / "service-connection-lost.png"), full_page=True)

    # The Sync history and the mapping page say so too, with the way to the hub page.
    for url, shot in (
        ("/finance/sync-history/", "history-connection-lost.png"),
        ("/admin/my-company/hub-settings/", "mapping-connection-lost.png"),
    ):
        page.goto(live_server.url + url)
        expect(page.locator(".hub-banner")).to_contain_text("is lost")
        page.screenshot(path=str(shots / shot), full_page=True)
    page.locator(".hub-banner").get_by_role("link", name="Reconnect").click()

    # The hub page: Connection lost, why, and one button.
    expect(page).to_have_url(hub_page)
    expect(page.locator("#hub-switch-label")).to_contain_text("Connection lost")
    lost = page.get_by_role("alert").filter(has_text="Connection lost since")
    expect(lost).to_contain_text("refused the refresh token we hold")
    expect(page.get_by_role("button", name="Refresh")).to_have_count(0)
    page.screenshot(path=str(shots / "hub-connection-lost.png"), full_page=True)
    lost.get_by_role("button", name="Reconnect").click()
    sign_in_at_hub(page)  # at the restarted hub
    expect(page.get_by_text("Reconnected to Integration Hub.")).to_be_visible()
    expect(page.locator("#hub-switch-label")).to_contain_text("Connected")
    expect(page.get_by_text("Connection lost")).to_have_count(0)
    expect(page.get_by_role("switch")).to_have_attribute("aria-checked", "true")
    page.screenshot(path=str(shots / "hub-reconnected.png"), full_page=True)
    assert HubConnection.objects.get(company=company).state == "connected"
    assert Mapping.objects.get(organization=org).account == account

    # The next sync works, with the mapping as it was.
    page.goto(service_page)
    expect(page.locator(".hub-banner")).to_have_count(0)
    page.get_by_role("button", name="Sync now").click()
    expect(page.locator("#service-units")).to_have_value("31.00")
    assert Service.objects.get(pk=service.pk).units == Decimal("31.00")


def test_a_hub_restarted_with_its_state_file_keeps_the_connection(
    page, live_server, restartable_hub, tmp_path
):
    """`make run` a second time: the sandbox comes back with its state, and "Sync now"
    works without connecting again."""
    company = make_company("Acme MSP")
    admin = make_user(company, "admin@acme.test")
    account = make_account(company, "Harbor Dental Group", "HARBOR")
    contract = make_contract(account, "Managed Services")
    state = tmp_path / "sandbox-hub.json"
    hub = restartable_hub(state)
    login(page, live_server, "admin@acme.test", PASSWORD)
    page.goto(f"{live_server.url}/admin/integrations/hub/")
    page.get_by_role("switch").click()
    sign_in_at_hub(page)
    expect(page.get_by_text("Operation is completed successfully.")).to_be_visible()
    org = Organization.objects.filter(
        company=company, module__code="rmm", parent_external_id=""
    ).first()
    make_mapping(account, org, admin)
    service = enable_icb(
        service=make_service(contract, "Managed Workstations", units="1"),
        actor=admin,
        module="rmm",
        billing_type="workstations",
    )
    hub.set_quantity("rmm", org.external_id, "workstations", "23")
    page.goto(f"{live_server.url}/finance/contracts/{contract.pk}/services/{service.pk}/")
    page.get_by_role("button", name="Sync now").click()
    expect(page.locator("#service-units")).to_have_value("23.00")

    hub.stop()
    hub = restartable_hub(state)  # the same state file: tokens and quantities kept
    hub.set_quantity("rmm", org.external_id, "workstations", "31")
    page.get_by_role("button", name="Sync now").click()
    expect(page.locator("#service-units")).to_have_value("31.00")
    expect(page.locator(".hub-banner")).to_have_count(0)
    assert HubConnection.objects.get(company=company).state == "connected"
    assert Service.objects.get(pk=service.pk).units == Decimal("31.00")
