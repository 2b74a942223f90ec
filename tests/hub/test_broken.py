"""A connection whose tokens the hub refuses is broken, not connected: it says so with the
reason, stops asking the hub, and one Reconnect signs in again and keeps every mapping."""

import re

import httpx
import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from icb.hub import services, tasks
from icb.hub.crypto import decrypt
from icb.hub.errors import HubError, HubUnauthorized
from icb.hub.models import HubConnection, HubState, Organization
from icb.mapping.models import Mapping
from tests.clients import connect, sign_in_at_hub
from tests.factories import (
    make_account,
    make_contract,
    make_hub_connection,
    make_mapping,
    make_module,
    make_org,
    make_service,
)

pytestmark = pytest.mark.django_db

HUB_PAGE = "/admin/integrations/hub/"


@pytest.fixture
def connected(hub, admin_client, company):
    connect(admin_client)
    hub.reset_request_counts()
    return hub


def forget_tokens(hub, company) -> None:
    """The hub no longer knows our tokens (as a hub restarted without its state): the
    grant is revoked, the access and the refresh token with it."""
    refresh = decrypt(HubConnection.objects.get(company=company).refresh_token_encrypted)
    httpx.post(
        f"{hub.url}/oauth/revoke", data={"token": refresh}, auth=("icb", "icb-sandbox-secret")
    ).raise_for_status()


def _connection(company) -> HubConnection:
    return HubConnection.objects.get(company=company)


def test_a_refused_refresh_token_breaks_the_connection(connected, company, admin_client):
    forget_tokens(connected, company)
    with pytest.raises(HubUnauthorized) as error:
        services.access_token(company, force_refresh=True)
    connection = _connection(company)
    assert connection.state == HubState.BROKEN
    assert "refused the refresh token" in connection.last_error
    assert connection.last_error_at is not None
    assert connection.last_error in error.value.message
    assert "Reconnect" in error.value.message

    state = admin_client.get("/api/v1/hub").json()
    assert (state["state"], state["connected"]) == ("broken", False)
    assert state["last_error"] == connection.last_error

    # Broken, it stops asking the hub: no retry storm until someone reconnects.
    connected.reset_request_counts()
    for _ in range(3):
        with pytest.raises(HubUnauthorized):
            services.access_token(company, force_refresh=True)
        with pytest.raises(HubError):
            with services.hub_client(company) as api:
                api.modules()
    assert sum(connected.request_counts().values()) == 0


def test_a_401_right_after_a_refresh_breaks_the_connection(connected, company):
    connected.set_fault(endpoint="modules", kind="error", status=401)
    with pytest.raises(HubUnauthorized), services.hub_client(company) as api:
        api.modules()
    counts = connected.request_counts()
    assert (counts["modules"], counts["token"]) == (2, 1)  # refused, refreshed, refused
    connection = _connection(company)
    assert connection.state == HubState.BROKEN
    assert "right after" in connection.last_error


def test_passing_trouble_does_not_break_the_connection(connected, company):
    connected.set_fault(endpoint="token", kind="error", status=503)
    with pytest.raises(HubError):
        services.access_token(company, force_refresh=True)
    assert _connection(company).state == HubState.CONNECTED
    connected.clear_faults()
    assert services.access_token(company, force_refresh=True)


def test_the_api_names_every_state(hub, admin_client, company):
    state = admin_client.get("/api/v1/hub").json()
    assert (state["state"], state["connected"], state["last_error"]) == (
        "disconnected",
        False,
        None,
    )
    connect(admin_client)
    state = admin_client.get("/api/v1/hub").json()
    assert (state["state"], state["connected"], state["last_error"]) == ("connected", True, None)
    # The published schema names the three states.
    schema = admin_client.get("/api/v1/openapi.json").json()["components"]["schemas"]["HubOut"]
    assert set(schema["properties"]["state"]["enum"]) == {"connected", "broken", "disconnected"}


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_reconnect_signs_in_again_and_keeps_every_mapping(
    connected, company, admin_client, admin_user
):
    account = make_account(company, "Harbor Dental Group", "HARBOR")
    organization = Organization.objects.filter(company=company, module__code="rmm").first()
    make_mapping(account, organization, admin_user)
    organizations = Organization.objects.filter(company=company).count()
    forget_tokens(connected, company)
    with pytest.raises(HubUnauthorized):
        services.access_token(company, force_refresh=True)

    page = admin_client.get(HUB_PAGE).content.decode()
    assert "Connection lost" in page and _connection(company).last_error in page
    assert "Connected</span>" not in page
    # One button to fix it: Reconnect, which runs the sign-in again.
    main = page[page.index("<main") : page.index("</main>")]
    buttons = re.findall(r"<button[^>]*>([^<]*)</button>", main)
    assert [b for b in buttons if b.strip()] == ["Reconnect"]
    assert re.search(r'<form method="post" action="/admin/integrations/hub/connect/"', page)

    start = admin_client.post("/admin/integrations/hub/connect/")
    params = sign_in_at_hub(start["Location"])
    response = admin_client.get("/admin/integrations/hub/callback/", params, follow=True)
    assert any("Reconnected" in m and "mappings" in m for m in _messages(response))
    connection = _connection(company)
    assert (connection.state, connection.last_error, connection.last_error_at) == (
        HubState.CONNECTED,
        "",
        None,
    )
    assert Mapping.objects.get(organization=organization).account == account
    assert Organization.objects.filter(company=company).count() == organizations
    page = response.content.decode()
    assert "Connection lost" not in page and "Connected</span>" in page
    with services.hub_client(company) as api:
        assert api.modules()


def test_a_successful_token_refresh_leaves_the_connection_connected(connected, company):
    services.access_token(company, force_refresh=True)
    connection = _connection(company)
    assert (connection.state, connection.last_error) == (HubState.CONNECTED, "")


def test_the_periodic_directory_refresh_skips_a_broken_connection(company, other_company):
    make_hub_connection(company)
    make_hub_connection(other_company)
    HubConnection.objects.filter(company=company).update(state=HubState.BROKEN)
    refreshed = []
    original = tasks.refresh_directory.delay
    try:
        tasks.refresh_directory.delay = refreshed.append
        tasks.refresh_all_directories()
    finally:
        tasks.refresh_directory.delay = original
    assert refreshed == [other_company.pk]


# --- the banner on the pages that need the hub ---------------------------------------------


@pytest.fixture
def broken(company):
    connection = make_hub_connection(company)
    services.mark_broken(company, "Integration Hub refused the refresh token we hold.")
    return connection


def _pages(company, admin_user) -> list[str]:
    from icb.billing_sync.models import SyncRun

    module = make_module(company, "rmm", "RMM")
    kind = module.billing_types.create(code="workstations", name="Workstations")
    make_org(module, "o1", "Org 1")
    contract = make_contract(make_account(company, "Harbor Dental Group", "HARBOR"))
    service = make_service(contract, billing_mode="icb", icb_module=module, icb_billing_type=kind)
    run = SyncRun.objects.create(company=company, trigger="nightly", batches_total=1)
    return [
        reverse("mapping:page"),
        reverse("contracts:service_detail", args=[contract.pk, service.pk]),
        reverse("billing_sync:runs"),
        reverse("billing_sync:run_detail", args=[run.pk]),
    ]


def test_pages_that_need_the_hub_say_the_connection_is_lost(
    broken, admin_client, company, admin_user
):
    for url in _pages(company, admin_user):
        page = admin_client.get(url).content.decode()
        banner = re.search(r'<div class="hub-banner[^"]*"[^>]*>(.*?)</div>', page, re.S)
        assert banner, url
        assert "connection to Integration Hub is lost" in banner.group(1), url
        assert "refused the refresh token we hold" in banner.group(1), url
        assert f'href="{HUB_PAGE}"' in banner.group(1), url


def test_a_broken_connection_promises_no_next_sync(broken, admin_client, company, admin_user):
    service_page = _pages(company, admin_user)[1]
    page = admin_client.get(service_page).content.decode()
    next_sync = re.search(r"<dd data-icb-next-sync>(.*?)</dd>", page, re.S)
    assert next_sync and "None until Integration Hub is reconnected" in next_sync.group(1)


def test_no_banner_while_connected(admin_client, company, admin_user):
    make_hub_connection(company)
    for url in _pages(company, admin_user):
        assert "hub-banner" not in admin_client.get(url).content.decode(), url
