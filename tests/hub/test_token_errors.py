"""A token endpoint that is down, failing or rate-limiting is reported as such, with the
HTTP status, and as something to try again: not as the hub "refusing" the sign-in, and
never with a Python exception's name."""

import pytest
from django.contrib.messages import get_messages

from icb.hub import oauth, services
from icb.hub.crypto import decrypt
from icb.hub.errors import HubError, HubUnauthorized
from icb.hub.models import HubConnection
from tests.clients import connect, sign_in_at_hub

pytestmark = pytest.mark.django_db


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _connect_with_token_fault(hub, admin_client, **fault) -> str:
    start = admin_client.post("/admin/integrations/hub/connect/")
    params = sign_in_at_hub(start["Location"])
    hub.set_fault(endpoint="token", **fault)
    response = admin_client.get("/admin/integrations/hub/callback/", params, follow=True)
    (message,) = [m for m in _messages(response) if "Integration Hub" in m]
    return message


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_token_endpoint_errors_name_the_status(hub, admin_client, company, status):
    message = _connect_with_token_fault(hub, admin_client, kind="error", status=status)
    assert f"HTTP {status}" in message and "answered with an error" in message
    assert "refused" not in message and "Error" not in message.replace("error", "")
    assert not HubConnection.objects.filter(company=company).exists()


def test_token_endpoint_rate_limiting(hub, admin_client, company):
    message = _connect_with_token_fault(hub, admin_client, kind="rate_limit", retry_after=3)
    assert "rate-limiting" in message and "HTTP 429" in message
    assert "refused" not in message
    assert not HubConnection.objects.filter(company=company).exists()


def test_a_garbled_token_answer_says_so(hub, admin_client, company):
    message = _connect_with_token_fault(hub, admin_client, kind="malformed")
    assert "not valid JSON" in message and "JSONDecodeError" not in message


def test_a_failing_refresh_is_retryable_and_keeps_the_connection(hub, admin_client, company):
    connect(admin_client)
    refresh_token = decrypt(HubConnection.objects.get(company=company).refresh_token_encrypted)
    hub.set_fault(endpoint="token", kind="error", status=503)
    with pytest.raises(HubError) as exc:
        services.access_token(company, force_refresh=True)
    assert not isinstance(exc.value, HubUnauthorized)
    assert exc.value.retryable and "HTTP 503" in exc.value.message
    assert "refused" not in exc.value.message
    hub.clear_faults()
    # Nothing was rotated or forgotten: the next refresh works.
    assert decrypt(HubConnection.objects.get(company=company).refresh_token_encrypted) == (
        refresh_token
    )
    assert services.access_token(company, force_refresh=True)


def test_a_rate_limited_refresh_carries_retry_after(hub, admin_client, company):
    connect(admin_client)
    hub.set_fault(endpoint="token", kind="rate_limit", retry_after=7)
    with pytest.raises(HubError) as exc:
        services.access_token(company, force_refresh=True)
    assert exc.value.retryable and exc.value.retry_after == 7
    assert exc.value.code == "rate_limited"


def test_a_closed_port_says_the_hub_could_not_be_reached(settings):
    settings.ICB_HUB_URL = "http://127.0.0.1:9"
    with pytest.raises(HubError) as exc:
        oauth.refresh_tokens("whatever")
    assert "could not be reached" in exc.value.message and exc.value.retryable
