"""Fault injection, observed by a client over real HTTP."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest


def usage_body(api: httpx.Client) -> dict:
    ids = [o["id"] for o in api.get("/modules/rmm/organizations").json()["organizations"]]
    return {"module": "rmm", "organization_ids": ids[:5]}


def test_error_fault_answers_the_status_with_an_error_body(api, sandbox):
    sandbox.set_fault(endpoint="modules", kind="error")
    sandbox.set_fault(endpoint="organizations", kind="error", status=500)
    response = api.get("/modules")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "service_unavailable"
    response = api.get("/modules/rmm/organizations")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "server_error"
    sandbox.clear_faults()
    assert api.get("/modules").status_code == 200


def test_rate_limit_fault_sends_retry_after_and_count_limits_it(api, sandbox):
    body = usage_body(api)
    sandbox.set_fault(endpoint="usage", kind="rate_limit", retry_after=7, count=2)
    for _ in range(2):
        response = api.post("/usage/query", json=body)
        assert response.status_code == 429
        assert response.headers["retry-after"] == "7"
        assert response.json()["error"]["code"] == "rate_limited"
    assert api.post("/usage/query", json=body).status_code == 200
    assert sandbox.faults() == []  # used up


def test_latency_fault_delays_the_normal_answer(api, sandbox):
    sandbox.set_fault(endpoint="modules", kind="latency", latency_ms=400)
    started = time.monotonic()
    response = api.get("/modules")
    elapsed = time.monotonic() - started
    assert response.status_code == 200 and response.json()["modules"]
    assert elapsed >= 0.4


def test_hang_fault_outlasts_a_client_timeout_until_cleared(api, sandbox):
    body = usage_body(api)
    sandbox.set_fault(endpoint="usage", kind="hang")
    with pytest.raises(httpx.ReadTimeout):
        api.post("/usage/query", json=body, timeout=0.5)
    # a request that is hanging is let go when the faults are cleared
    results: list[int] = []
    waiting = threading.Thread(
        target=lambda: results.append(api.post("/usage/query", json=body, timeout=10).status_code)
    )
    waiting.start()
    time.sleep(0.3)
    assert results == []
    sandbox.clear_faults()
    waiting.join(timeout=5)
    assert results == [200]


def test_malformed_fault_gives_a_200_that_is_not_json(api, sandbox):
    sandbox.set_fault(endpoint="organizations", kind="malformed", count=1)
    response = api.get("/modules/rmm/organizations")
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)
    assert api.get("/modules/rmm/organizations").json()["organizations"]


def test_truncated_fault_cuts_the_json_body(api, sandbox):
    body = usage_body(api)
    whole = api.post("/usage/query", json=body).content
    sandbox.set_fault(endpoint="usage", kind="truncated")
    response = api.post("/usage/query", json=body)
    assert response.status_code == 200
    assert whole.startswith(response.content) and len(response.content) < len(whole)
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)


def test_repeat_cursor_fault_hands_back_the_page_just_read(api, sandbox):
    body = usage_body(api)
    whole = api.post("/usage/query", json=body).json()
    assert whole["next_cursor"] is None  # one page
    sandbox.set_fault(endpoint="usage", kind="repeat_cursor", count=2)
    first = api.post("/usage/query", json=body).json()
    assert first["usage"] == whole["usage"] and first["next_cursor"]
    # Following the cursor gives the same page again, and the same cursor.
    again = api.post("/usage/query", json={**body, "cursor": first["next_cursor"]}).json()
    assert again["usage"] == whole["usage"]
    assert again["next_cursor"] == first["next_cursor"]
    # Used up: the same cursor now gets the real answer (the last page).
    last = api.post("/usage/query", json={**body, "cursor": first["next_cursor"]}).json()
    assert last["usage"] == whole["usage"] and last["next_cursor"] is None


def test_repeat_cursor_fault_on_organizations(api, sandbox):
    first_page = api.get("/modules/rmm/organizations", params={"limit": 10}).json()
    sandbox.set_fault(endpoint="organizations", kind="repeat_cursor")
    cursor = first_page["next_cursor"]
    for _ in range(3):
        page = api.get("/modules/rmm/organizations", params={"limit": 10, "cursor": cursor})
        assert page.status_code == 200 and page.json()["next_cursor"] == cursor
    # A first page (no cursor) answers a cursor that leads to the first page again.
    page = api.get("/modules/rmm/organizations", params={"limit": 10}).json()
    again = api.get(
        "/modules/rmm/organizations", params={"limit": 10, "cursor": page["next_cursor"]}
    ).json()
    assert page["organizations"] == again["organizations"] == first_page["organizations"]


def test_faults_on_the_token_endpoint(sandbox):
    tokens = sandbox.obtain_tokens()
    sandbox.set_fault(endpoint="token", kind="error", status=502, count=1)
    data = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    auth = (sandbox.client_id, sandbox.client_secret)
    failed = httpx.post(f"{sandbox.url}/oauth/token", data=data, auth=auth)
    assert failed.status_code == 502
    assert httpx.post(f"{sandbox.url}/oauth/token", data=data, auth=auth).status_code == 200


def test_rate_zero_never_fires_and_rate_half_sometimes_does(api, sandbox):
    sandbox.set_fault(endpoint="modules", kind="error", rate=0)
    assert all(api.get("/modules").status_code == 200 for _ in range(10))
    sandbox.clear_faults()
    sandbox.set_fault(endpoint="modules", kind="error", rate=0.5)
    statuses = {api.get("/modules").status_code for _ in range(30)}
    assert statuses == {200, 503}


def test_faults_only_hit_their_endpoint_and_are_listed(api, sandbox):
    rule = sandbox.set_fault(endpoint="usage", kind="error")
    assert rule["endpoint"] == "usage" and rule["status"] == 503 and rule["rate"] == 1
    assert api.get("/modules").status_code == 200
    assert [f["id"] for f in sandbox.faults()] == [rule["id"]]


@pytest.mark.parametrize(
    "rule",
    [
        {"endpoint": "everything", "kind": "error"},
        {"endpoint": "usage", "kind": "explode"},
        {"endpoint": "usage", "kind": "error", "rate": 2},
        {"endpoint": "usage", "kind": "error", "status": 200},
        {"endpoint": "usage", "kind": "latency", "latency_ms": -1},
        {"endpoint": "usage", "kind": "error", "when": "always"},
        {"endpoint": "modules", "kind": "repeat_cursor"},
        {"endpoint": "token", "kind": "repeat_cursor"},
    ],
)
def test_bad_fault_rules_are_refused(sandbox, rule):
    response = httpx.put(f"{sandbox.url}/_sandbox/faults", json=rule)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_fault"
