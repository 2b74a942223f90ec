"""The nightly path end to end with real processes: the dispatcher enqueues to Redis, a
real Celery worker (a subprocess) runs the group task against the same database file and
the sandbox hub. Skipped when Redis is not reachable."""

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from sandbox_hub.local_redis import redis_up

ROOT = Path(__file__).resolve().parents[2]
BROKER = "redis://127.0.0.1:6379/13"

SETUP = r"""
import datetime, json, os, django
django.setup()
from django.utils import timezone
from icb.hub.models import Module, Organization
from icb.contracts.models import Service
from icb.billing_sync.services import enable_icb
from tests.factories import (make_account, make_company, make_contract, make_hub_connection,
                             make_mapping, make_service)
company = make_company("Worker MSP")
make_hub_connection(company, json.loads(os.environ["TEST_TOKENS"]), read_directory=True)
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


class Setup:
    """A fresh database file with one due ICB service, and helpers to run processes."""

    def __init__(self, sandbox):
        if not redis_up():
            pytest.skip("Redis is not reachable on 127.0.0.1:6379 (needed for the worker test)")
        self.work = Path(tempfile.mkdtemp(prefix="icb-worker-test-"))
        self.db = self.work / "db.sqlite3"
        org = next(o for page in _org_pages(sandbox) for o in page if not o.get("parent_id"))
        sandbox.set_quantity("rmm", org["id"], "workstations", "37")
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "icb.settings",
            "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
            "ICB_DATA_DIR": str(self.work),
            "DATABASE_URL": f"sqlite:///{self.db}",
            "ICB_BROKER_URL": BROKER,
            # Runs of this test at the same time (several checkouts, one Redis) would take
            # each other's tasks; each run's queues get their own keys.
            "ICB_BROKER_KEY_PREFIX": f"icb-test-{uuid.uuid4().hex[:12]}:",
            "ICB_HUB_URL": sandbox.url,
            "ICB_TASKS_EAGER": "0",
            "TEST_TOKENS": json.dumps(sandbox.obtain_tokens()),
            "TEST_ORG": org["id"],
        }
        self.run("-m", "django", "migrate", "--noinput")
        self.service_id = int(self.run("-c", SETUP).strip().splitlines()[-1])
        _purge(self.env, self.work)
        self.workers: list[subprocess.Popen] = []
        self.log = open(self.work / "worker.log", "w")

    def run(self, *args, timeout=60):
        done = subprocess.run(
            [sys.executable, *args],
            env=self.env,
            cwd=self.work,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    def start_worker(self) -> subprocess.Popen:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "icb",
                "worker",
                "--pool",
                "solo",
                "--concurrency",
                "1",
                "--without-gossip",
                "--without-mingle",
                "--loglevel",
                "INFO",
            ],
            env=self.env,
            cwd=self.work,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.workers.append(worker)
        return worker

    def query(self, sql, *params):
        with sqlite3.connect(self.db, timeout=10) as db:
            return db.execute(sql, params).fetchall()

    def service(self):
        return self.query(
            "SELECT units, icb_status, sync_claim_token FROM contracts_service WHERE id = ?",
            self.service_id,
        )[0]

    def sync_changes(self) -> int:
        return self.query(
            "SELECT COUNT(*) FROM contracts_serviceunitchange WHERE "
            "service_id = ? AND source = 'sync'",
            self.service_id,
        )[0][0]

    def wait_for(self, condition, seconds=60):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(0.3)
        return False

    def close(self):
        for worker in self.workers:
            if worker.poll() is None:
                worker.terminate()
                try:
                    worker.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    worker.wait()
        self.log.close()
        shutil.rmtree(self.work, ignore_errors=True)


@pytest.fixture
def setup(sandbox):
    world = Setup(sandbox)
    yield world
    world.close()


def test_real_worker_on_redis_syncs_due_services(setup):
    setup.start_worker()
    setup.run("-c", DISPATCH)
    assert setup.wait_for(lambda: setup.service()[1] != "never"), (
        setup.work / "worker.log"
    ).read_text()
    units, status, claim = setup.service()
    assert status == "ok", (units, status, (setup.work / "worker.log").read_text())
    assert str(units) in ("37", "37.00", "37.0") and claim == ""
    runs = setup.query("SELECT finished_at FROM billing_sync_syncrun")
    assert runs and runs[0][0] is not None
    assert setup.sync_changes() == 1


def test_worker_killed_mid_group_task_leaves_units_and_the_next_worker_finishes(setup, sandbox):
    # The hub answers slowly, so the worker is inside the group task when it is killed.
    sandbox.reset_request_counts()
    sandbox.set_fault(endpoint="usage", kind="latency", latency_ms=20000)
    try:
        first = setup.start_worker()
        setup.run("-c", DISPATCH)
        assert setup.wait_for(lambda: sandbox.request_counts().get("usage", 0) > 0, 30), (
            setup.work / "worker.log"
        ).read_text()
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        sandbox.clear_faults()
    units, status, claim = setup.service()
    assert str(units) in ("1", "1.00", "1.0") and status == "never" and claim != ""
    assert setup.sync_changes() == 0
    # Time passes: the dead worker's claim expires; the next dispatch hands the service
    # to a new worker, which syncs it exactly once.
    setup.query(
        "UPDATE contracts_service SET sync_claimed_until = '2000-01-01 00:00:00' WHERE id = ?",
        setup.service_id,
    )
    _purge(setup.env, setup.work)
    setup.start_worker()
    setup.run("-c", DISPATCH)
    assert setup.wait_for(lambda: setup.service()[1] == "ok"), (
        setup.work / "worker.log"
    ).read_text()
    units, status, claim = setup.service()
    assert str(units) in ("37", "37.00", "37.0") and claim == ""
    assert setup.sync_changes() == 1


def _org_pages(sandbox):
    import httpx

    tokens = sandbox.obtain_tokens()
    answer = httpx.get(
        f"{sandbox.url}/api/v1/modules/rmm/organizations",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    answer.raise_for_status()
    yield answer.json()["organizations"]


def _purge(env, work):
    """Forget tasks an earlier interrupted run may have left in the test's Redis db."""
    subprocess.run(
        [sys.executable, "-m", "celery", "-A", "icb", "purge", "-f"],
        env=env,
        cwd=work,
        capture_output=True,
        timeout=30,
    )
