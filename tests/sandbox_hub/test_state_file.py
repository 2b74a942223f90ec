"""The state file (--state): a restarted hub keeps its tokens and test-control changes."""

from __future__ import annotations

import json
import stat
from datetime import date

import httpx
import pytest

from sandbox_hub import HubConfig, create_app
from sandbox_hub.runner import SandboxHandle, start_sandbox
from sandbox_hub.statefile import write


def api_get(hub: SandboxHandle, access_token: str, path: str) -> httpx.Response:
    return httpx.get(f"{hub.url}/api/v1{path}", headers={"Authorization": f"Bearer {access_token}"})


def refresh(hub: SandboxHandle, refresh_token: str) -> httpx.Response:
    return httpx.post(
        f"{hub.url}/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        auth=(hub.client_id, hub.client_secret),
    )


def usage(hub: SandboxHandle, access_token: str, org_id: str) -> dict[str, str]:
    response = httpx.post(
        f"{hub.url}/api/v1/usage/query",
        json={"module": "rmm", "organization_ids": [org_id]},
        headers={"Authorization": f"Bearer {access_token}"},
    )
    assert response.status_code == 200, response.text
    return {row["billing_type"]: row["quantity"] for row in response.json()["usage"]}


def test_a_restart_on_the_same_state_file_keeps_tokens_quantities_and_the_day(tmp_path):
    state = tmp_path / "sandbox-hub.json"
    hub = start_sandbox(organizations=30, state_file=state, today="2026-11-20")
    try:
        connected = hub.obtain_tokens()
        tokens = refresh(hub, connected["refresh_token"]).json()  # as a nightly sync does
        orgs = api_get(hub, tokens["access_token"], "/modules/rmm/organizations").json()
        leaf = next(o for o in orgs["organizations"] if o["parent_id"] is not None)
        org_id = orgs["organizations"][-1]["id"]
        hub.set_quantity("rmm", org_id, "servers", 17)
        added = hub.add_organization("rmm", "Zephyr Analytics Inc", quantities={"laptops": 9})
        hub.remove_organization("rmm", leaf["id"])
        assert hub.advance(2) == date(2026, 11, 22)
        before = usage(hub, tokens["access_token"], org_id)
    finally:
        hub.stop()

    assert stat.S_IMODE(state.stat().st_mode) == 0o600  # it holds tokens
    assert [p.name for p in tmp_path.iterdir()] == ["sandbox-hub.json"]  # no temp file left

    again = start_sandbox(organizations=30, state_file=state, today="2026-11-20")
    try:
        assert "state in" in again.output().splitlines()[0]
        # The product's stored tokens still work: no "Connect again".
        assert api_get(again, tokens["access_token"], "/modules").status_code == 200
        assert usage(again, tokens["access_token"], org_id) == before
        assert before["servers"] == "17"
        assert again.quantities("rmm", added["id"])["laptops"] == "9"
        listed = api_get(again, tokens["access_token"], "/modules/rmm/organizations").json()
        assert leaf["id"] not in {o["id"] for o in listed["organizations"]}
        assert again.today() == date(2026, 11, 22)  # the control's day, not --today
        renewed = refresh(again, tokens["refresh_token"])
        assert renewed.status_code == 200, renewed.text
        # The refresh token used before the restart stays used.
        assert refresh(again, connected["refresh_token"]).status_code == 400
    finally:
        again.stop()


def test_without_a_state_file_a_restart_forgets(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    hub = start_sandbox(organizations=5)
    try:
        tokens = hub.obtain_tokens()
    finally:
        hub.stop()
    again = start_sandbox(organizations=5)
    try:
        assert api_get(again, tokens["access_token"], "/modules").status_code == 401
    finally:
        again.stop()
    assert list(tmp_path.iterdir()) == []


def controls(state_file, **config):
    app = create_app(
        HubConfig(organizations=10, test_controls=True, state_file=str(state_file), **config)
    )
    return app.test_client()


def test_a_change_writes_the_file_and_reading_it_is_the_same_state(tmp_path):
    state = tmp_path / "hub.json"
    client = controls(state)
    assert not state.exists()  # nothing changed yet
    org = client.get("/_sandbox/quantities?module=docs&organization_id=x")
    assert org.status_code == 404 and not state.exists()
    added = client.post("/_sandbox/organizations", json={"module": "docs", "name": "Kept Inc"})
    assert added.status_code == 201
    saved = json.loads(state.read_text())
    assert saved["version"] == 1 and saved["seed"] == 42 and saved["organizations"] == 10
    assert [c["op"] for c in saved["data"]["changes"]["docs"]] == ["add_organization"]
    org_id = added.get_json()["id"]
    again = controls(state)
    assert (
        again.get(f"/_sandbox/quantities?module=docs&organization_id={org_id}").status_code == 200
    )


def test_a_failed_write_leaves_the_previous_file(tmp_path, monkeypatch):
    state = tmp_path / "hub.json"
    write(state, {"seed": 1, "data": {"changes": {}}})
    previous = state.read_text()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("sandbox_hub.statefile.os.fsync", broken)
    with pytest.raises(OSError):
        write(state, {"seed": 2})
    assert state.read_text() == previous
    assert [p.name for p in tmp_path.iterdir()] == ["hub.json"]


def test_an_unreadable_file_is_reported_and_replaced(tmp_path, capsys):
    state = tmp_path / "hub.json"
    state.write_text("{not json")
    client = controls(state)
    assert "cannot read the state file" in capsys.readouterr().err
    assert client.put("/_sandbox/today", json={"days": 1}).status_code == 200
    assert "today" in json.loads(state.read_text())["data"]


def test_changes_for_another_seed_are_not_applied(tmp_path, capsys):
    state = tmp_path / "hub.json"
    first = controls(state, seed=1)
    org_id = first.post("/_sandbox/organizations", json={"module": "docs", "name": "A"}).get_json()[
        "id"
    ]
    other = controls(state, seed=2)
    assert "another seed" in capsys.readouterr().err
    assert (
        other.get(f"/_sandbox/quantities?module=docs&organization_id={org_id}").status_code == 404
    )
