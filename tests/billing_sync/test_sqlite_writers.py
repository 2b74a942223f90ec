"""The embedded default under load: a sync process and a process saving pages write the
same SQLite file at the same time. Writers must wait for each other (WAL, busy timeout,
BEGIN IMMEDIATE), never fail with "database is locked", and every write must land."""

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ACCOUNTS, CONTRACTS_PER_ACCOUNT, ROUNDS, SAVES = 30, 10, 4, 40
READY_TIMEOUT = 60  # seconds for a writer to start Django and get ready

SEED = r"""
import json, os, django
django.setup()
from icb.billing_sync.services import enable_icb
from icb.contracts.models import Service
from icb.hub.models import Organization
from tests.factories import (make_account, make_company, make_contract, make_hub_connection,
                             make_mapping, make_service, make_user)
company = make_company("Writers MSP")
make_user(company, "admin@writers.test", "Administrator")
make_hub_connection(company, json.loads(os.environ["TEST_TOKENS"]), read_directory=True)
orgs = list(Organization.objects.filter(module__company=company, module__code="rmm")
            .order_by("external_id")[:int(os.environ["ACCOUNTS"])])
world = {"icb": {}, "manual": [], "accounts": []}
for i, org in enumerate(orgs):
    account = make_account(company, f"Customer {i}", f"C{i}")
    make_mapping(account, org)
    world["accounts"].append(account.pk)
    for n in range(int(os.environ["CONTRACTS_PER_ACCOUNT"])):
        contract = make_contract(account, f"Deal {n}")
        service = enable_icb(service=make_service(contract, "Workstations", units="0"),
                             actor=None, module="rmm", billing_type="workstations")
        world["icb"][service.pk] = org.external_id
    manual = make_service(contract, "Onboarding hours", units="1")
    world["manual"].append([contract.pk, manual.pk])
print(json.dumps(world))
"""

SYNC = r"""
import os, sys, time, django
django.setup()
from decimal import Decimal
from django.utils import timezone
from icb.billing_sync import dispatch
from icb.contracts.models import Service
from tests.billing_sync.helpers import run_group_tasks
dispatch.BATCH_SIZE = 50  # many short transactions, interleaved with the page saves
open(os.environ["READY"], "w").close()
while not os.path.exists(os.environ["GO"]):
    time.sleep(0.01)
started = time.time()
for _ in range(int(os.environ["ROUNDS"])):
    Service.objects.filter(billing_mode="icb").update(units=Decimal("0"),
                                                      next_sync_at=timezone.now())
    run_group_tasks(*dispatch.dispatch_due())  # the group tasks, run here
print(started, time.time())
"""

SAVE = r"""
import json, os, time, django
django.setup()
from django.test import Client
from django.test.utils import setup_test_environment
from django.urls import reverse
from icb.tenancy.models import User
setup_test_environment()
world = json.loads(os.environ["WORLD"])
client = Client()
client.force_login(User.objects.get(email="admin@writers.test"))
statuses = []
open(os.environ["READY"], "w").close()
while not os.path.exists(os.environ["GO"]):
    time.sleep(0.01)
started = time.time()
for n in range(int(os.environ["SAVES"])):
    contract_id, service_id = world["manual"][n % len(world["manual"])]
    response = client.post(reverse("contracts:service_detail", args=[contract_id, service_id]),
                           {"name": "Onboarding hours", "unit_price": "95.00",
                            "units": str(n + 2), "description": ""})
    statuses.append(response.status_code)
    account_id = world["accounts"][n % len(world["accounts"])]
    response = client.post(reverse("crm:detail", args=[account_id]),
                           {"name": f"Renamed {n}", "code": f"R{n}", "is_active": "on"})
    statuses.append(response.status_code)
print(started, time.time())
print(json.dumps(statuses))
"""


class Writers:
    def __init__(self, sandbox):
        self.work = Path(tempfile.mkdtemp(prefix="icb-writers-test-"))
        self.db = self.work / "db.sqlite3"
        self.go = self.work / "go"
        self.processes = []
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "icb.settings",
            "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
            "ICB_DATA_DIR": str(self.work),
            "DATABASE_URL": f"sqlite:///{self.db}",
            "ICB_HUB_URL": sandbox.url,
            "TEST_TOKENS": json.dumps(sandbox.obtain_tokens()),
            "ACCOUNTS": str(ACCOUNTS),
            "CONTRACTS_PER_ACCOUNT": str(CONTRACTS_PER_ACCOUNT),
            "ROUNDS": str(ROUNDS),
            "SAVES": str(SAVES),
            "GO": str(self.go),
        }
        self.run("-m", "django", "migrate", "--noinput")
        self.world = json.loads(self.run("-c", SEED).strip().splitlines()[-1])
        self.env["WORLD"] = json.dumps(self.world)

    def run(self, *args):
        done = subprocess.run(
            [sys.executable, *args],
            env=self.env,
            cwd=self.work,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    def start(self, script, name):
        """Start a writer; it writes the file ``ready_file(name)`` once it waits for go."""
        process = subprocess.Popen(
            [sys.executable, "-c", script],
            env={**self.env, "READY": str(self.ready_file(name))},
            cwd=self.work,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.processes.append(process)
        return process

    def ready_file(self, name):
        return self.work / f"{name}.ready"

    def wait_until_ready(self, writers):
        """Wait (bounded) until every writer of ``{name: process}`` wrote its ready file."""
        deadline = time.monotonic() + READY_TIMEOUT
        waiting = dict(writers)
        while waiting:
            for name, process in list(waiting.items()):
                if self.ready_file(name).exists():
                    del waiting[name]
                elif process.poll() is not None:
                    pytest.fail(f"the {name} writer exited early:\n{process.stderr.read()[-3000:]}")
            if waiting and time.monotonic() > deadline:
                pytest.fail(f"not ready after {READY_TIMEOUT} s: {', '.join(waiting)}")
            time.sleep(0.01)

    def query(self, sql, *params):
        with sqlite3.connect(self.db, timeout=10) as db:
            return db.execute(sql, params).fetchall()


@pytest.fixture
def writers(sandbox):
    world = Writers(sandbox)
    yield world
    for process in world.processes:  # a writer left waiting by a failed test
        if process.poll() is None:
            process.kill()
            process.communicate()
    shutil.rmtree(world.work, ignore_errors=True)


def test_a_sync_run_and_page_saves_write_the_same_file_at_once(writers, sandbox):
    sync, save = writers.start(SYNC, "sync"), writers.start(SAVE, "save")
    writers.wait_until_ready({"sync": sync, "save": save})
    writers.go.touch()
    sync_out, sync_err = sync.communicate(timeout=300)
    save_out, save_err = save.communicate(timeout=300)
    assert sync.returncode == 0, sync_err[-3000:]
    assert save.returncode == 0, save_err[-3000:]
    assert "locked" not in sync_err + save_err
    sync_from, sync_to = map(float, sync_out.split())
    save_from, save_to = map(float, save_out.strip().splitlines()[-2].split())
    assert save_from < sync_to and sync_from < save_to, "the two writers did not overlap"
    # The web side: every save redirected (no error page), and the last values stand.
    assert json.loads(save_out.strip().splitlines()[-1]) == [302] * (2 * SAVES)
    manual = dict(
        writers.query("SELECT id, units FROM contracts_service WHERE billing_mode = 'manual'")
    )
    for n in range(SAVES - len(writers.world["manual"]), SAVES):
        _, service_id = writers.world["manual"][n % len(writers.world["manual"])]
        assert Decimal(str(manual[service_id])) == n + 2
    user_changes = writers.query(
        "SELECT COUNT(*) FROM contracts_serviceunitchange WHERE source = 'user'"
    )[0][0]
    assert user_changes == SAVES
    names = {name for (name,) in writers.query("SELECT name FROM crm_account")}
    assert {f"Renamed {n}" for n in range(SAVES - ACCOUNTS, SAVES)} <= names
    # The sync side: every round finished, every service holds the hub's number.
    runs = writers.query(
        "SELECT finished_at, services_changed, services_failed FROM billing_sync_syncrun"
    )
    assert len(runs) == ROUNDS
    assert all(finished and failed == 0 for finished, _, failed in runs)
    expected = {
        org: Decimal(sandbox.quantities("rmm", org)["workstations"])
        for org in set(writers.world["icb"].values())
    }
    synced = writers.query(
        "SELECT id, units, icb_status, sync_claim_token "
        "FROM contracts_service WHERE billing_mode = 'icb'"
    )
    assert len(synced) == ACCOUNTS * CONTRACTS_PER_ACCOUNT
    for service_id, units, status, claim in synced:
        org = writers.world["icb"][str(service_id)]
        assert (Decimal(str(units)), status, claim) == (expected[org], "ok", ""), service_id
