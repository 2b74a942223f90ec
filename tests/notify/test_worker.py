"""The outbox to a webhook through real processes: an event recorded in a database file,
the relay task sent to Redis, a real Celery worker (a subprocess) relaying and
delivering it to the receiver in this process, which verifies the signature. Skipped
when Redis is not reachable."""

import os
import shutil
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
import os, django
django.setup()
from icb.events.services import record_event
from icb.notify.services import endpoint_create
from tests.factories import make_company
company = make_company("Worker MSP")
endpoint, secret = endpoint_create(company=company, actor=None, url=os.environ["TEST_URL"],
                                   event_types=["sync_run.finished"])
record_event(company=company, type="sync_run.finished", payload={"run_id": 77})
print(secret)
"""

RELAY = r"""
import django
django.setup()
from icb.notify.tasks import relay
relay.delay()
"""


def _run(env, work, *args):
    done = subprocess.run(
        [sys.executable, *args], env=env, cwd=work, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_a_real_worker_relays_and_delivers_an_event(receiver):
    if not redis_up():
        pytest.skip("Redis is not reachable on 127.0.0.1:6379 (needed for the worker test)")
    work = Path(tempfile.mkdtemp(prefix="icb-notify-worker-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "icb.settings",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        "ICB_DATA_DIR": str(work),
        "DATABASE_URL": f"sqlite:///{work / 'db.sqlite3'}",
        "ICB_BROKER_URL": BROKER,
        "ICB_BROKER_KEY_PREFIX": f"icb-test-{uuid.uuid4().hex[:12]}:",
        "ICB_TASKS_EAGER": "0",
        "ICB_WEBHOOKS_ALLOW_PRIVATE": "1",
        "TEST_URL": receiver.url,
    }
    log = open(work / "worker.log", "w")
    worker = None
    try:
        _run(env, work, "-m", "django", "migrate", "--noinput")
        receiver.secret = _run(env, work, "-c", SETUP).strip().splitlines()[-1]
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "icb", "worker", "--pool", "solo"]
            + ["--without-gossip", "--without-mingle", "--loglevel", "INFO"],
            env=env,
            cwd=work,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        _run(env, work, "-c", RELAY)
        deadline = time.monotonic() + 60
        while not receiver.received and time.monotonic() < deadline:
            time.sleep(0.3)
        assert receiver.verified(), (work / "worker.log").read_text()[-3000:]
        [message] = receiver.verified()
        assert message["type"] == "sync_run.finished" and message["data"] == {"run_id": 77}
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=15)
        log.close()
        shutil.rmtree(work, ignore_errors=True)
