"""The hub's sign-in code and state reach the product in the callback's query string; the
web server's access log must not keep them (anyone reading the log could otherwise race
the product to the token endpoint, or replay a sign-in)."""

import os
import subprocess
import time
from pathlib import Path

import httpx
from django.urls import reverse

from icb import access_log, cli
from sandbox_hub.runner import free_port

ROOT = Path(__file__).resolve().parents[2]
CODE = "SECRET-SIGN-IN-CODE-42"
STATE = "SECRET-STATE-7"


def test_the_callback_path_is_the_one_kept_private():
    assert reverse("hub:callback") in access_log.PRIVATE_QUERY_PATHS


def test_gunicorn_as_icb_starts_it_keeps_no_oauth_code(tmp_path, monkeypatch):
    monkeypatch.setenv("ICB_WEB_WORKERS", "1")
    monkeypatch.setenv("ICB_HOST", "127.0.0.1")
    port = str(free_port())
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}",
        "DJANGO_SETTINGS_MODULE": "icb.settings",
        "ICB_DATA_DIR": str(tmp_path),
    }
    env.pop("DATABASE_URL", None)
    log_path = tmp_path / "access.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            cli._gunicorn_command(port), env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/login/?probe=1", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, log_path.read_text()[-2000:]
                time.sleep(0.2)
        callback = httpx.get(
            f"{base}/admin/integrations/hub/callback/",
            params={"code": CODE, "state": STATE},
            timeout=10,
        )
        assert callback.status_code == 302  # not logged in: to the login page, with next=…
        login = base + callback.headers["location"]
        httpx.get(login, timeout=10)  # what a browser does; then it posts the form from there
        httpx.post(login, headers={"Referer": login}, timeout=10)
        httpx.get(f"{base}/login/?next=/finance/contracts/", timeout=10)
    finally:
        server.terminate()
        server.wait(timeout=20)
    text = log_path.read_text()
    assert '"GET /admin/integrations/hub/callback/?[removed] HTTP/1.1" 302' in text
    assert CODE not in text and STATE not in text, text
    assert "/login/?next=/finance/contracts/" in text  # other query strings are kept
