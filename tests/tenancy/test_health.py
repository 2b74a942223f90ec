"""`GET /api/v1/health`: 200 when the database and the broker answer, otherwise 503 JSON
naming what is down. The broker's answer is remembered for a few seconds so that load
balancers polling every web process do not hammer it."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import OperationalError, connections
from django.test import Client

from icb import api as icb_api

ROOT = Path(__file__).resolve().parents[2]
CLOSED = "127.0.0.1:9"  # nothing listens there


@pytest.fixture(autouse=True)
def _forget_broker_checks():
    icb_api._broker_checks.clear()
    yield
    icb_api._broker_checks.clear()


@pytest.mark.django_db
def test_healthy():
    response = Client().get("/api/v1/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok" and body["broker"] == "ok"


@pytest.mark.django_db
def test_database_down_is_503_json(monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connections["default"], "ensure_connection", refuse)
    response = Client(raise_request_exception=False).get("/api/v1/health")
    assert response.status_code == 503
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["status"] == "unavailable" and body["database"] == "down"
    assert body["broker"] == "ok"
    assert "database" in body["detail"]


@pytest.mark.django_db
def test_broker_down_is_503_and_checked_at_most_every_few_seconds(settings, monkeypatch):
    settings.CELERY_BROKER_URL = f"redis://{CLOSED}/0"
    started = time.monotonic()
    response = Client().get("/api/v1/health")
    assert time.monotonic() - started < 3
    assert response.status_code == 503
    body = response.json()
    assert body["broker"] == "down" and body["database"] == "ok"
    assert "broker" in body["detail"]

    calls = []
    real = icb_api._broker_answers

    def counted(url):
        calls.append(url)
        return real(url)

    monkeypatch.setattr(icb_api, "_broker_answers", counted)
    for _ in range(5):
        assert Client().get("/api/v1/health").status_code == 503
    assert calls == []  # remembered
    monkeypatch.setattr(icb_api, "BROKER_CHECK_SECONDS", 0)
    Client().get("/api/v1/health")
    assert len(calls) == 1


def test_a_postgresql_that_is_not_there_is_503_json(tmp_path):
    """A real process whose database is a PostgreSQL address nobody answers at."""
    script = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "r = Client(raise_request_exception=False).get('/api/v1/health')\n"
        "print(r.status_code, r['Content-Type'], r.content.decode())\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}",
        "DJANGO_SETTINGS_MODULE": "icb.settings",
        "ICB_DATA_DIR": str(tmp_path),
        "DATABASE_URL": f"postgres://postgres@{CLOSED}/icb",
        "ICB_BROKER_URL": f"sqla+sqlite:///{tmp_path / 'broker.sqlite3'}",
    }
    out = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    status, content_type, body = out.stdout.strip().splitlines()[-1].split(" ", 2)
    assert status == "503" and content_type.startswith("application/json"), out.stdout
    assert '"database": "down"' in body and '"broker": "ok"' in body
