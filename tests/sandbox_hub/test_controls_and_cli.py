"""Test controls on and off, the command line, and the test runner itself."""

from __future__ import annotations

from datetime import date

import httpx
import pytest

from sandbox_hub import HubConfig, create_app
from sandbox_hub.__main__ import build_parser, config_from_args
from sandbox_hub.runner import SandboxError, start_sandbox


def test_controls_are_404_unless_enabled():
    handle = start_sandbox(test_controls=False, name="Acme Hub", organizations=5)
    try:
        for method, path in [
            ("GET", "/_sandbox/faults"),
            ("PUT", "/_sandbox/faults"),
            ("GET", "/_sandbox/requests"),
            ("POST", "/_sandbox/tokens/expire"),
            ("POST", "/_sandbox/organizations"),
        ]:
            response = httpx.request(method, f"{handle.url}{path}", json={})
            assert response.status_code == 404, path
            assert response.json()["error"]["code"] == "not_found"
        assert httpx.get(f"{handle.url}/.well-known/hub").json()["name"] == "Acme Hub"
        start_line = handle.output().splitlines()[0]
        assert start_line == (
            f"Sandbox hub listening on http://127.0.0.1:{handle.port} "
            "(seed 42, 5 organizations per module)"
        )
    finally:
        handle.stop()
    assert handle.process.poll() is not None


def test_in_process_app_without_controls():
    client = create_app(HubConfig()).test_client()
    assert client.get("/_sandbox/faults").status_code == 404
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_start_failure_raises_with_the_hub_output():
    with pytest.raises(SandboxError) as error:
        start_sandbox(extra_args=["--token-ttl", "0"])
    assert "token-ttl" in str(error.value)


def test_options_come_from_the_environment_and_the_command_line(monkeypatch):
    monkeypatch.setenv("SANDBOX_SEED", "99")
    monkeypatch.setenv("SANDBOX_ORGANIZATIONS", "12")
    monkeypatch.setenv("SANDBOX_TEST_CONTROLS", "1")
    monkeypatch.setenv("SANDBOX_REDIRECT_URI", "http://a.test/cb, http://b.test/cb")
    config = config_from_args(build_parser().parse_args(["--organizations", "30"]))
    assert config.seed == 99
    assert config.organizations == 30
    assert config.test_controls is True
    assert config.redirect_uris == ("http://a.test/cb", "http://b.test/cb")
    monkeypatch.delenv("SANDBOX_TEST_CONTROLS")
    defaults = config_from_args(build_parser().parse_args([]))
    assert (defaults.host, defaults.port, defaults.client_id) == ("127.0.0.1", 8100, "icb")
    assert defaults.test_controls is False and defaults.token_ttl == 3600
    assert defaults.refresh_grace == 60
    assert config_from_args(build_parser().parse_args(["--refresh-grace", "0"])).refresh_grace == 0
    monkeypatch.setenv("SANDBOX_REFRESH_GRACE", "5")
    assert config_from_args(build_parser().parse_args([])).refresh_grace == 5
    assert "icb-sandbox-secret" not in repr(defaults) and "demo" not in repr(defaults)
    assert defaults.today is None and defaults.state_file is None
    monkeypatch.setenv("SANDBOX_TODAY", "2027-02-01")
    monkeypatch.setenv("SANDBOX_STATE", "/tmp/hub.json")
    config = config_from_args(build_parser().parse_args([]))
    assert (config.today, config.state_file) == (date(2027, 2, 1), "/tmp/hub.json")
    config = config_from_args(build_parser().parse_args(["--today", "2027-03-04"]))
    assert config.today == date(2027, 3, 4)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--today", "March"])


def test_control_validation(app_client):
    org = app_client.post(
        "/_sandbox/organizations", json={"module": "rmm", "name": "Zed Corp", "id": "z1"}
    )
    assert org.status_code == 201
    assert org.get_json()["quantities"]["servers"] == "0"
    cases = [
        ("POST", "/_sandbox/organizations", {"module": "rmm", "name": "Zed Corp", "id": "z1"}, 409),
        ("POST", "/_sandbox/organizations", {"module": "rmm", "name": ""}, 400),
        ("POST", "/_sandbox/organizations", {"module": "rmm", "name": "A", "parent_id": "?"}, 404),
        ("POST", "/_sandbox/organizations", {"module": "rmm", "name": "A", "status": "x"}, 400),
        ("POST", "/_sandbox/organizations", {"module": "zzz", "name": "A"}, 404),
        (
            "PUT",
            "/_sandbox/quantities",
            {"module": "rmm", "organization_id": "z1", "billing_type": "servers", "quantity": "x"},
            400,
        ),
        (
            "PUT",
            "/_sandbox/quantities",
            {"module": "rmm", "organization_id": "z1", "billing_type": "gpus", "quantity": 1},
            400,
        ),
        ("PUT", "/_sandbox/quantities", {"module": "rmm"}, 400),
        ("DELETE", "/_sandbox/organizations/rmm/unknown", None, 404),
        ("DELETE", "/_sandbox/faults/12345", None, 404),
    ]
    for method, path, body, status in cases:
        response = app_client.open(path, method=method, json=body)
        assert response.status_code == status, (method, path, body, response.get_json())
        assert response.get_json()["error"]["code"]
    child = app_client.post(
        "/_sandbox/organizations",
        json={"module": "rmm", "name": "Zed Corp \u2013 Lab", "parent_id": "z1"},
    ).get_json()
    assert app_client.delete("/_sandbox/organizations/rmm/z1").status_code == 409
    assert app_client.delete(f"/_sandbox/organizations/rmm/{child['id']}").status_code == 200
    assert app_client.delete("/_sandbox/organizations/rmm/z1").status_code == 200


def test_reset_restores_the_generated_data(app_client):
    first = app_client.get("/_sandbox/quantities?module=docs&organization_id=x")
    assert first.status_code == 404
    added = app_client.post("/_sandbox/organizations", json={"module": "docs", "name": "Temp"})
    org_id = added.get_json()["id"]
    assert (
        app_client.get(f"/_sandbox/quantities?module=docs&organization_id={org_id}").status_code
        == 200
    )
    app_client.put("/_sandbox/faults", json={"endpoint": "usage", "kind": "error"})
    assert app_client.post("/_sandbox/reset").status_code == 200
    assert (
        app_client.get(f"/_sandbox/quantities?module=docs&organization_id={org_id}").status_code
        == 404
    )
    assert app_client.get("/_sandbox/faults").get_json() == {"faults": []}


def test_unknown_paths_and_methods_answer_json_errors(app_client):
    response = app_client.get("/api/v2/modules")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"
    response = app_client.delete("/healthz")
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"
