"""The ways a test talks to the product as a client: JSON calls to the API, a Bearer
token on Django's test client, the browser's login page, and the hub sign-in a person
does when they turn the connection on."""

import json
import re
from urllib.parse import parse_qs, urlsplit

import httpx

from icb.tenancy.services import api_token_create

# The callback the product registers at the sandbox hub the tests start (tests.fixtures).
CALLBACK = "http://testserver/admin/integrations/hub/callback/"


class Api:
    """JSON calls to /api/v1 with a Bearer token (or the session, if no token)."""

    def __init__(self, client, token=None):
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def _call(self, method, path, body=None, raw=None, **params):
        kwargs = {"headers": self.headers}
        if method in ("post", "patch", "put"):
            kwargs["data"] = raw if raw is not None else json.dumps(body)
            kwargs["content_type"] = "application/json"
        elif params:
            kwargs["data"] = params
        return getattr(self.client, method)(f"/api/v1{path}", **kwargs)

    def get(self, path, **params):
        return self._call("get", path, **params)

    def post(self, path, body=None, raw=None):
        return self._call("post", path, body, raw)

    def patch(self, path, body=None, raw=None):
        return self._call("patch", path, body, raw)

    def delete(self, path):
        return self._call("delete", path)


def bearer(client, user):
    """Django's test client sending a new personal token of ``user`` on every request."""
    _, raw = api_token_create(user=user, name="tests")
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
    return client


def login(page, live_server, email, password):
    """Log in through the login page of the live server, in the browser ``page``."""
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/")


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
