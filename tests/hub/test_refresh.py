"""A token refresh whose answer is lost (garbled, cut short, the connection broken) must
not end the connection: the hub may already have rotated the refresh token, so the
product tries once more with the one it holds, which hubs with a grace period accept."""

from datetime import timedelta

import pytest
from django.utils import timezone

from icb.hub import services
from icb.hub.crypto import decrypt
from icb.hub.errors import HubError, HubUnauthorized
from icb.hub.models import HubConnection
from sandbox_hub.runner import start_sandbox
from tests.clients import CALLBACK, connect

pytestmark = pytest.mark.django_db


@pytest.fixture
def connected(hub, admin_client, company):
    connect(admin_client)
    hub.reset_request_counts()
    return hub


def _tokens(company) -> tuple[str, str]:
    connection = HubConnection.objects.get(company=company)
    return (
        decrypt(connection.access_token_encrypted),
        decrypt(connection.refresh_token_encrypted),
    )


@pytest.mark.parametrize("kind", ["malformed", "truncated"])
def test_a_garbled_refresh_answer_is_retried_with_the_held_refresh_token(connected, company, kind):
    access, refresh = _tokens(company)
    connected.set_fault(endpoint="token", kind=kind, count=1)
    token = services.access_token(company, force_refresh=True)
    assert connected.request_counts()["token"] == 2  # the garbled answer, then the retry
    new_access, new_refresh = _tokens(company)
    assert token == new_access != access and new_refresh != refresh
    assert HubConnection.objects.get(company=company).last_error == ""
    with services.hub_client(company) as api:
        assert api.modules()


def test_a_refresh_cut_off_by_a_timeout_is_retried(connected, company, settings):
    settings.ICB_HUB_TIMEOUT = 0.5
    connected.set_fault(endpoint="token", kind="hang", latency_ms=1500, count=1)
    token = services.access_token(company, force_refresh=True)
    assert token == _tokens(company)[0]
    with services.hub_client(company) as api:
        assert api.modules()


def test_a_refresh_garbled_twice_fails_clearly_and_the_next_one_recovers(
    connected, company, admin_client
):
    _, refresh = _tokens(company)
    connected.set_fault(endpoint="token", kind="malformed", count=2)
    with pytest.raises(HubError) as error:
        services.access_token(company, force_refresh=True)
    message = error.value.message
    assert "token refresh" in message and "reconnect Integration Hub" in message, message
    connection = HubConnection.objects.get(company=company)  # kept, with the reason
    assert connection.last_error == message and connection.last_error_at is not None
    assert _tokens(company)[1] == refresh  # the one it holds, still within the grace period
    assert admin_client.get("/api/v1/hub").json()["last_error"] == message

    # The next refresh works thanks to the hub's grace period; the error is gone.
    services.access_token(company, force_refresh=True)
    assert HubConnection.objects.get(company=company).last_error == ""
    counts = services.refresh_directory(company=company)
    assert counts["rmm"]["organizations"] >= 30


@pytest.fixture
def strict_hub(settings):
    """A hub that allows no second use of a rotated refresh token."""
    handle = start_sandbox(
        redirect_uri=CALLBACK, organizations=5, seed=7, extra_args=["--refresh-grace", "0"]
    )
    settings.ICB_HUB_URL = handle.url
    settings.ICB_HUB_RETRY_BASE = 0.05
    settings.ICB_HUB_MAX_RETRY_WAIT = 0.2
    settings.ICB_HUB_TIMEOUT = 3
    yield handle
    handle.stop()


def test_without_a_grace_period_the_connection_is_broken_with_a_clear_message(
    strict_hub, admin_client, company
):
    connect(admin_client)
    strict_hub.set_fault(endpoint="token", kind="truncated", count=1)
    with pytest.raises(HubUnauthorized) as error:
        services.access_token(company, force_refresh=True)
    message = error.value.message
    assert "refused the refresh token" in message and "is lost" in message, message
    assert "Reconnect it on the Integration Hub page" in message
    connection = HubConnection.objects.get(company=company)
    assert connection.state == "broken" and connection.last_error in message
    assert "did not answer a token refresh readably" in connection.last_error
    # Asked again, it does not bother the hub; the row stays so the page can show why.
    strict_hub.reset_request_counts()
    with pytest.raises(HubUnauthorized):
        services.access_token(company, force_refresh=True)
    assert strict_hub.request_counts()["token"] == 0
    assert HubConnection.objects.filter(company=company).exists()


def test_an_expiring_token_is_refreshed_through_a_lost_answer(connected, company):
    HubConnection.objects.filter(company=company).update(
        access_token_expires_at=timezone.now() + timedelta(seconds=5)
    )
    connected.set_fault(endpoint="token", kind="malformed", count=1)
    with services.hub_client(company) as api:
        assert api.modules()
