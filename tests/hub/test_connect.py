from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.utils import timezone

from icb.hub import oauth, services
from icb.hub.crypto import decrypt
from icb.hub.models import HubConnection, Module, Organization
from tests.clients import CALLBACK, connect, sign_in_at_hub
from tests.factories import make_role, make_user

pytestmark = pytest.mark.django_db


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_connect_stores_encrypted_tokens_and_reads_directory(
    hub, admin_client, company, admin_user
):
    start = admin_client.post("/admin/integrations/hub/connect/")
    url = start["Location"]
    assert url.startswith(hub.url + "/oauth/authorize")
    assert "code_challenge_method=S256" in url and "code_challenge=" in url
    params = sign_in_at_hub(url)
    response = admin_client.get("/admin/integrations/hub/callback/", params, follow=True)
    assert "Operation is completed successfully." in _messages(response)
    connection = HubConnection.objects.get(company=company)
    assert connection.connected_by == admin_user
    # Tokens are encrypted at rest and never on the page.
    token = decrypt(connection.access_token_encrypted)
    assert token and token not in connection.access_token_encrypted
    page = response.content.decode()
    assert token not in page and 'aria-checked="true"' in page
    modules = Module.objects.filter(company=company)
    assert modules.count() >= 6
    assert Organization.objects.filter(company=company).count() >= 6 * 30
    rmm = modules.get(code="rmm")
    assert "RMM" in page and rmm.billing_types.filter(code="workstations").exists()


def test_replayed_callback_and_state_mismatch_are_refused(hub, admin_client, company):
    params = connect(admin_client)
    HubConnection.objects.filter(company=company).delete()
    replay = admin_client.get("/admin/integrations/hub/callback/", params, follow=True)
    assert any("already completed or has expired" in m for m in _messages(replay))
    assert not HubConnection.objects.filter(company=company).exists()

    start = admin_client.post("/admin/integrations/hub/connect/")
    params = sign_in_at_hub(start["Location"])
    params["state"] = "forged"
    response = admin_client.get("/admin/integrations/hub/callback/", params, follow=True)
    assert any("state mismatch" in m for m in _messages(response))
    assert not HubConnection.objects.filter(company=company).exists()
    assert 'aria-checked="false"' in response.content.decode()


def test_cancelled_sign_in(hub, admin_client, company):
    start = admin_client.post("/admin/integrations/hub/connect/")
    params = sign_in_at_hub(start["Location"], allow=False)
    assert params["error"] == "access_denied"
    response = admin_client.get("/admin/integrations/hub/callback/", params, follow=True)
    assert any("was cancelled" in m for m in _messages(response))
    assert not HubConnection.objects.filter(company=company).exists()


def test_bad_client_secret(hub, admin_client, company, settings):
    start = admin_client.post("/admin/integrations/hub/connect/")
    params = sign_in_at_hub(start["Location"])
    settings.ICB_HUB_CLIENT_SECRET = "wrong"
    response = admin_client.get("/admin/integrations/hub/callback/", params, follow=True)
    assert any("client id or secret" in m for m in _messages(response))
    assert not HubConnection.objects.filter(company=company).exists()


def test_hub_unreachable(hub, admin_client, company, settings):
    start = admin_client.post("/admin/integrations/hub/connect/")
    params = sign_in_at_hub(start["Location"])
    settings.ICB_HUB_URL = "http://127.0.0.1:9"  # nothing listens there
    response = admin_client.get("/admin/integrations/hub/callback/", params, follow=True)
    assert any("could not be reached" in m for m in _messages(response))
    assert not HubConnection.objects.filter(company=company).exists()


def test_disconnect_revokes_tokens(hub, admin_client, company):
    connect(admin_client)
    connection = HubConnection.objects.get(company=company)
    token = decrypt(connection.access_token_encrypted)
    response = admin_client.post("/admin/integrations/hub/disconnect/", follow=True)
    assert not HubConnection.objects.filter(company=company).exists()
    assert 'aria-checked="false"' in response.content.decode()
    import httpx

    revoked = httpx.get(f"{hub.url}/api/v1/modules", headers={"Authorization": f"Bearer {token}"})
    assert revoked.status_code == 401


def test_token_refreshed_before_expiry_and_on_401(hub, admin_client, company):
    connect(admin_client)
    connection = HubConnection.objects.get(company=company)
    first = decrypt(connection.access_token_encrypted)
    # About to expire: refreshed before use.
    connection.access_token_expires_at = timezone.now() + timedelta(seconds=10)
    connection.save()
    second = services.access_token(company)
    assert second != first
    # Expired at the hub while we still think it is valid: the 401 triggers one refresh.
    hub.expire_tokens()
    with services.hub_client(company) as api:
        assert api.modules()
    third = decrypt(HubConnection.objects.get(company=company).access_token_encrypted)
    assert third not in (first, second)


def test_revoked_refresh_token_reports_reconnect(hub, admin_client, company):
    connect(admin_client)
    connection = HubConnection.objects.get(company=company)
    oauth.revoke_token(decrypt(connection.refresh_token_encrypted), "refresh_token")
    with pytest.raises(services.HubUnauthorized):
        services.access_token(company, force_refresh=True)
    assert (
        "reconnect" in HubConnection.objects.get(company=company).last_error.lower()
        or "refused" in HubConnection.objects.get(company=company).last_error.lower()
    )


def test_only_administrators_may_use_the_hub_page(hub, company):
    finance = make_user(company, "fin@acme.test", "Finance")
    client = Client()
    client.force_login(finance)
    assert client.get("/admin/integrations/hub/").status_code == 403
    assert client.post("/admin/integrations/hub/connect/").status_code == 403
    assert "/admin/integrations/hub/" not in client.get("/").content.decode()
    viewer = make_user(company, "sec@acme.test", make_role(company, "Sec", security="modify"))
    client.force_login(viewer)
    assert client.post("/api/v1/hub/disconnect").status_code == 403
    assert client.get("/api/v1/hub").json()["connected"] is False


def test_callback_uri_is_the_registered_one(hub, admin_client):
    start = admin_client.post("/admin/integrations/hub/connect/")
    assert "redirect_uri=" + CALLBACK.replace(":", "%3A").replace("/", "%2F") in start["Location"]
