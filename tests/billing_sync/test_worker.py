"""The nightly path end to end with real processes: the dispatcher enqueues to Redis, a
real Celery worker (a subprocess) runs the group task against the same database file and
the sandbox hub. Skipped when Redis is not reachable."""

import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REDIS = ("127.0.0.1", 6379)
BROKER = "redis://127.0.0.1:6379/13"

SETUP = r"""
import datetime, json, os, django
django.setup()
from django.utils import timezone
from icb.hub.crypto import encrypt
from icb.hub.models import HubConnection
from icb.hub import services as hub_services
from icb.hub.models import Module, Organization
from icb.contracts.models import Service
from icb.billing_sync.services import enable_icb
from tests.factories import make_account, make_company, make_contract, make_mapping, make_service
tokens = json.loads(os.environ["TEST_TOKENS"])
company = make_company("Worker MSP")
HubConnection.objects.create(company=company,
    access_token_encrypted=encrypt(tokens["access_token"]),
    refresh_token_encrypted=encrypt(tokens["refresh_token"]),
    access_token_expires_at=timezone.now() + datetime.timedelta(seconds=3000))
hub_services.refresh_directory(company=company)
account = make_account(company, "Harbor Dental Group", "HARBOR")
org = Organization.objects.get(module__company=company, module__code="rmm",
                               external_id=os.environ["TEST_ORG"])
make_mapping(account, org)
service = enable_icb(service=make_service(make_contract(account), units="1"), actor=None,
                     module="rmm", billing_type="workstations")
Service.objects.filter(pk=service.pk).update(
    next_sync_at=timezone.now() - datetime.timedelta(hours=1))
print(service.pk)
"""

DISPATCH = r"""
import django
django.setup()
from icb.billing_sync.tasks import dispatch_task
dispatch_task.delay()
"""


def _redis_up() -> bool:
    try:
        with socket.create_connection(REDIS, timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def test_real_worker_on_redis_syncs_due_services(sandbox):
    if not _redis_up():
        pytest.skip("Redis is not reachable on 127.0.0.1:6379 (needed for the worker test)")
    work = Path(tempfile.mkdtemp(prefix="icb-worker-test-"))
    org = next(o for page in _org_pages(sandbox) for o in page if not o.get("parent_id"))
    sandbox.set_quantity("rmm", org["id"], "workstations", "37")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "icb.settings",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        "ICB_DATA_DIR": str(work),
        "DATABASE_URL": f"sqlite:///{work / 'db.sqlite3'}",
        "ICB_BROKER_URL": BROKER,
        "ICB_HUB_URL": sandbox.url,
        "ICB_TASKS_EAGER": "0",
        "TEST_TOKENS": json.dumps(sandbox.obtain_tokens()),
        "TEST_ORG": org["id"],
    }

    def run(*args, timeout=60):
        done = subprocess.run([sys.executable, *args], env=env, cwd=work, capture_output=True,
                              text=True, timeout=timeout)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    run("-m", "django", "migrate", "--noinput")
    service_id = int(run("-c", SETUP).strip().splitlines()[-1])
    _purge(env, work)
    log = open(work / "worker.log", "w")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "icb", "worker", "--pool", "solo",
         "--concurrency", "1", "--without-gossip", "--without-mingle", "--loglevel", "INFO"],
        env=env, cwd=work, stdout=log, stderr=subprocess.STDOUT)
    try:
        run("-c", DISPATCH)
        deadline = time.monotonic() + 60
        state = None
        while time.monotonic() < deadline:
            with sqlite3.connect(work / "db.sqlite3", timeout=10) as db:
                state = db.execute(
                    "SELECT units, icb_status, sync_claim_token FROM contracts_service "
                    "WHERE id = ?", (service_id,)).fetchone()
                runs = db.execute("SELECT finished_at FROM billing_sync_syncrun").fetchall()
            if state and state[1] != "never":
                break
            time.sleep(0.3)
        assert state is not None and state[1] == "ok", (state, (work / "worker.log").read_text())
        assert str(state[0]) in ("37", "37.00", "37.0") and state[2] == ""
        assert runs and runs[0][0] is not None
        with sqlite3.connect(work / "db.sqlite3") as db:
            [(changes,)] = db.execute(
                "SELECT COUNT(*) FROM contracts_serviceunitchange WHERE service_id = ? AND "
                "source = 'sync'", (service_id,)).fetchall()
        assert changes == 1
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        log.close()
        shutil.rmtree(work, ignore_errors=True)


def _org_pages(sandbox):
    import httpx

    tokens = sandbox.obtain_tokens()
    answer = httpx.get(f"{sandbox.url}/api/v1/modules/rmm/organizations",
                       headers={"Authorization": f"Bearer {tokens['access_token']}"})
    answer.raise_for_status()
    yield answer.json()["organizations"]


def _purge(env, work):
    """Forget tasks an earlier interrupted run may have left in the test's Redis db."""
    subprocess.run([sys.executable, "-m", "celery", "-A", "icb", "purge", "-f"], env=env,
                   cwd=work, capture_output=True, timeout=30)
