"""The hub tests talk to the sandbox hub running as a real HTTP server."""

import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from sandbox_hub.runner import start_sandbox

CALLBACK = "http://testserver/admin/integrations/hub/callback/"


@pytest.fixture(scope="session")
def sandbox():
    handle = start_sandbox(redirect_uri=CALLBACK, organizations=30, seed=7)
    yield handle
    handle.stop()


@pytest.fixture
def hub(settings, sandbox):
    """The product pointed at the sandbox, with short retry waits; faults cleared after."""
    settings.ICB_HUB_URL = sandbox.url
    settings.ICB_HUB_CLIENT_ID = "icb"
    settings.ICB_HUB_CLIENT_SECRET = "icb-sandbox-secret"
    settings.ICB_HUB_RETRY_BASE = 0.05
    settings.ICB_HUB_MAX_RETRY_WAIT = 0.2
    settings.ICB_HUB_TIMEOUT = 3
    sandbox.clear_faults()
    yield sandbox
    sandbox.clear_faults()


def sign_in_at_hub(
    authorize_url: str, *, allow: bool = True, username="demo", password="demo"
) -> dict:
    """Do what a person does on the hub's pages; return the callback's query parameters."""
    with httpx.Client(follow_redirects=False, timeout=5) as browser:
        page = browser.get(authorize_url)
        assert page.status_code == 200 and 'name="username"' in page.text
        page = browser.post(authorize_url, data={"username": username, "password": password})
        if page.status_code == 303:
            page = browser.get(authorize_url)
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf, page.text[:500]
        answer = browser.post(
            authorize_url,
            data={"decision": "allow" if allow else "deny", "csrf_token": csrf.group(1)},
        )
        assert answer.status_code in (302, 303), answer.text[:300]
        location = answer.headers["location"]
        assert location.startswith(CALLBACK)
        return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def connect(client) -> dict:
    """Turn the switch on as the logged-in admin and finish the sign-in; returns the
    callback parameters used."""
    start = client.post("/admin/integrations/hub/connect/")
    assert start.status_code == 302, start.content[:300]
    params = sign_in_at_hub(start["Location"])
    client.get("/admin/integrations/hub/callback/", params)
    return params
