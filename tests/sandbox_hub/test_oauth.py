"""The OAuth 2 authorization code + PKCE flow against a real hub process."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from sandbox_hub.runner import SandboxHandle, pkce_pair, start_sandbox


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def exchange(sandbox: SandboxHandle, code: str, verifier: str, **kwargs) -> httpx.Response:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": sandbox.redirect_uri,
        "code_verifier": verifier,
    }
    auth = kwargs.pop("auth", (sandbox.client_id, sandbox.client_secret))
    return httpx.post(f"{sandbox.url}/oauth/token", data=data, auth=auth, **kwargs)


def refresh(sandbox: SandboxHandle, refresh_token: str) -> httpx.Response:
    return httpx.post(
        f"{sandbox.url}/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        auth=(sandbox.client_id, sandbox.client_secret),
    )


def modules_status(sandbox: SandboxHandle, access_token: str) -> int:
    response = httpx.get(
        f"{sandbox.url}/api/v1/modules", headers={"Authorization": f"Bearer {access_token}"}
    )
    return response.status_code


def authorized_code(sandbox: SandboxHandle) -> tuple[str, str]:
    verifier, challenge = pkce_pair()
    callback = sandbox.approve(sandbox.authorize_url(state="s1", code_challenge=challenge))
    params = query_of(callback)
    assert params["state"] == "s1"
    return params["code"], verifier


def test_discovery_document(sandbox):
    body = httpx.get(f"{sandbox.url}/.well-known/hub").json()
    assert body["protocol_version"] == "1"
    assert body["name"] == "Integration Hub"
    assert body["authorization_endpoint"] == f"{sandbox.url}/oauth/authorize"
    assert body["token_endpoint"] == f"{sandbox.url}/oauth/token"
    assert body["revocation_endpoint"] == f"{sandbox.url}/oauth/revoke"
    assert body["api_base"] == f"{sandbox.url}/api/v1"
    assert httpx.get(f"{sandbox.url}/healthz").json() == {"status": "ok"}


def test_browser_flow_sign_in_consent_and_code_exchange(sandbox):
    verifier, challenge = pkce_pair()
    url = sandbox.authorize_url(state="xyz", code_challenge=challenge)
    with httpx.Client() as browser:
        login = browser.get(url)
        assert login.status_code == 200
        assert "Sign in to Integration Hub" in login.text
        assert re.search(r'<form method="post"', login.text)
        assert 'name="username"' in login.text and 'name="password"' in login.text
        assert ">Sign in</button>" in login.text and ">Cancel</button>" in login.text

        wrong = browser.post(url, data={"username": "demo", "password": "nope"})
        assert wrong.status_code == 200
        assert "Incorrect username or password." in wrong.text

        signed_in = browser.post(url, data={"username": "demo", "password": "demo"})
        assert signed_in.status_code == 303
        consent = browser.get(signed_in.headers["location"])
        assert "Integration Hub" in consent.text and "ICB" in consent.text
        assert ">Allow</button>" in consent.text and ">Deny</button>" in consent.text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', consent.text).group(1)

        forged = browser.post(url, data={"decision": "allow", "csrf_token": "forged"})
        assert forged.status_code == 400
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', forged.text).group(1)

        allowed = browser.post(url, data={"decision": "allow", "csrf_token": csrf})
    assert allowed.status_code == 302
    location = allowed.headers["location"]
    assert location.startswith(sandbox.redirect_uri)
    params = query_of(location)
    assert params["state"] == "xyz" and params["code"]

    response = exchange(sandbox, params["code"], verifier)
    assert response.status_code == 200
    token = response.json()
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 3600
    assert token["scope"] == "hub.read"
    assert token["access_token"] and token["refresh_token"]
    assert modules_status(sandbox, token["access_token"]) == 200


def test_deny_and_cancel_redirect_with_access_denied(sandbox):
    _, challenge = pkce_pair()
    url = sandbox.authorize_url(state="d1", code_challenge=challenge)
    denied = query_of(sandbox.approve(url, allow=False))
    assert denied["error"] == "access_denied" and denied["state"] == "d1"
    assert "code" not in denied

    url = sandbox.authorize_url(state="c1", code_challenge=challenge)
    cancelled = httpx.post(url, data={"cancel": "1"})
    assert cancelled.status_code == 302
    params = query_of(cancelled.headers["location"])
    assert params["error"] == "access_denied" and params["state"] == "c1"


def test_wrong_verifier_is_refused(sandbox):
    code, _ = authorized_code(sandbox)
    other_verifier, _ = pkce_pair()
    response = exchange(sandbox, code, other_verifier)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_code_cannot_be_replayed_and_replay_revokes_its_tokens(sandbox):
    code, verifier = authorized_code(sandbox)
    first = exchange(sandbox, code, verifier)
    assert first.status_code == 200
    again = exchange(sandbox, code, verifier)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    assert modules_status(sandbox, first.json()["access_token"]) == 401


def test_bad_client_secret_is_refused(sandbox):
    code, verifier = authorized_code(sandbox)
    response = exchange(sandbox, code, verifier, auth=(sandbox.client_id, "wrong"))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    # the code was not used up by the failed attempt; client_secret_post works too
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": sandbox.redirect_uri,
        "code_verifier": verifier,
        "client_id": sandbox.client_id,
        "client_secret": sandbox.client_secret,
    }
    assert httpx.post(f"{sandbox.url}/oauth/token", data=data).status_code == 200


def test_pkce_s256_is_required(sandbox):
    url = sandbox.authorize_url(state="p1", code_challenge="x" * 43)
    plain = url.replace("code_challenge_method=S256", "code_challenge_method=plain")
    for bad in (plain, re.sub(r"&code_challenge=[^&]+", "", url)):
        response = httpx.get(bad)
        assert response.status_code == 302
        params = query_of(response.headers["location"])
        assert params["error"] == "invalid_request" and params["state"] == "p1"


def test_unknown_client_or_redirect_uri_gets_an_error_page_not_a_redirect(sandbox):
    _, challenge = pkce_pair()
    url = sandbox.authorize_url(state="e", code_challenge=challenge)
    for bad in (
        url.replace("client_id=icb", "client_id=someone-else"),
        url.replace("redirect_uri=http", "redirect_uri=https%3A%2F%2Fevil.example%2Fcb%3Fx%3Dhttp"),
    ):
        response = httpx.get(bad)
        assert response.status_code == 400
        assert "text/html" in response.headers["content-type"]


def test_refresh_rotates_the_refresh_token(sandbox):
    first = sandbox.obtain_tokens()
    response = refresh(sandbox, first["refresh_token"])
    assert response.status_code == 200
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert modules_status(sandbox, second["access_token"]) == 200
    # Once the new refresh token has been used, the one before it is refused (grace or not).
    assert refresh(sandbox, second["refresh_token"]).status_code == 200
    reused = refresh(sandbox, first["refresh_token"])
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"


def test_previous_refresh_token_is_honoured_within_the_grace_period(sandbox):
    """A client that lost the answer to a refresh (garbled, connection cut) may send the
    refresh token it still holds again: within the grace period it gets a fresh pair."""
    first = sandbox.obtain_tokens()
    lost = refresh(sandbox, first["refresh_token"]).json()
    again = refresh(sandbox, first["refresh_token"])
    assert again.status_code == 200, again.text
    pair = again.json()
    assert pair["refresh_token"] not in (first["refresh_token"], lost["refresh_token"])
    assert pair["access_token"] != lost["access_token"]
    assert modules_status(sandbox, pair["access_token"]) == 200
    assert refresh(sandbox, pair["refresh_token"]).status_code == 200
    # Its successor has been used now: the old one is refused even within the period.
    reused = refresh(sandbox, first["refresh_token"])
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"


def test_grace_period_ends_and_never_outlives_a_revocation(sandbox):
    with start_sandbox(seed=7, organizations=5, extra_args=["--refresh-grace", "2"]) as short:
        first = short.obtain_tokens()
        assert refresh(short, first["refresh_token"]).status_code == 200
        assert refresh(short, first["refresh_token"]).status_code == 200  # within 2 s
        time.sleep(2.2)
        after = refresh(short, first["refresh_token"])
        assert after.status_code == 400 and after.json()["error"] == "invalid_grant"
    # A revoked grant stays revoked, grace period or not.
    tokens = sandbox.obtain_tokens()
    assert refresh(sandbox, tokens["refresh_token"]).status_code == 200
    httpx.post(
        f"{sandbox.url}/oauth/revoke",
        data={"token": tokens["refresh_token"]},
        auth=(sandbox.client_id, sandbox.client_secret),
    )
    assert refresh(sandbox, tokens["refresh_token"]).status_code == 400


def test_expired_access_token_is_401_and_refresh_recovers(sandbox):
    tokens = sandbox.obtain_tokens()
    assert sandbox.expire_tokens() >= 1
    response = httpx.get(
        f"{sandbox.url}/api/v1/modules",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"
    assert "Bearer" in response.headers["www-authenticate"]
    renewed = refresh(sandbox, tokens["refresh_token"]).json()
    assert modules_status(sandbox, renewed["access_token"]) == 200


@pytest.mark.parametrize("hint", [None, "refresh_token"])
def test_revoking_the_refresh_token_ends_access(sandbox, hint):
    tokens = sandbox.obtain_tokens()
    data = {"token": tokens["refresh_token"]}
    if hint:
        data["token_type_hint"] = hint
    response = httpx.post(
        f"{sandbox.url}/oauth/revoke", data=data, auth=(sandbox.client_id, sandbox.client_secret)
    )
    assert response.status_code == 200
    assert modules_status(sandbox, tokens["access_token"]) == 401
    assert refresh(sandbox, tokens["refresh_token"]).status_code == 400


def test_revoking_an_access_token_and_revocation_needs_the_client(sandbox):
    tokens = sandbox.obtain_tokens()
    unauthenticated = httpx.post(
        f"{sandbox.url}/oauth/revoke", data={"token": tokens["access_token"]}
    )
    assert unauthenticated.status_code in (400, 401)
    assert modules_status(sandbox, tokens["access_token"]) == 200
    response = httpx.post(
        f"{sandbox.url}/oauth/revoke",
        data={"token": tokens["access_token"], "token_type_hint": "access_token"},
        auth=(sandbox.client_id, sandbox.client_secret),
    )
    assert response.status_code == 200
    assert modules_status(sandbox, tokens["access_token"]) == 401
    assert refresh(sandbox, tokens["refresh_token"]).status_code == 200


@pytest.mark.parametrize("header", [None, "Bearer nonsense", "Basic aWNiOnNlY3JldA=="])
def test_api_without_a_valid_token_is_401(sandbox, header):
    headers = {"Authorization": header} if header else {}
    response = httpx.get(f"{sandbox.url}/api/v1/modules", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"
    assert response.json()["error"]["message"]


def test_empty_scope_means_hub_read_and_unknown_scopes_are_refused(sandbox):
    verifier, challenge = pkce_pair()
    url = sandbox.authorize_url(state="s", code_challenge=challenge, scope="")
    code = query_of(sandbox.approve(url))["code"]
    assert exchange(sandbox, code, verifier).json()["scope"] == "hub.read"

    response = httpx.get(sandbox.authorize_url(state="s", code_challenge=challenge, scope="admin"))
    assert response.status_code == 302
    assert query_of(response.headers["location"])["error"] == "invalid_scope"
