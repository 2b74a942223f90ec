"""The dispatcher's claim and its group tasks: each due service claimed once, even by two
dispatchers at the same moment; a company's batches shared among the expected workers.
No hub is read: the services are made due directly."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from icb.billing_sync import dispatch
from icb.billing_sync.dispatch import dispatch_due, group_size
from icb.billing_sync.models import SyncRun
from icb.contracts.models import Service
from tests.factories import make_account, make_contract, make_module, make_service

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def due_services(company):
    """40 due ICB services of two modules (20 each, their ids interleaved), and two that
    are not due (a manual one and one synced until later)."""
    contract = make_contract(make_account(company, "Customer", "C1"))
    modules = [make_module(company, code, code.upper()) for code in ("rmm", "backup")]
    now = timezone.now()
    services = [
        make_service(
            contract,
            f"Svc {i}",
            billing_mode="icb",
            icb_module=modules[i % 2],
            next_sync_at=now - timedelta(minutes=1),
        )
        for i in range(40)
    ]
    make_service(contract, "Manual")
    make_service(contract, "Later", billing_mode="icb", next_sync_at=now + timedelta(hours=1))
    return services


def _claimed_ids(tasks):
    return [i for task in tasks for i in task.service_ids]


@pytest.mark.parametrize(("batches", "workers", "size"), [(30, 1, 30), (30, 2, 15), (30, 4, 8)])
def test_group_size_shares_the_batches_among_the_workers(batches, workers, size):
    assert group_size(batches, workers) == size


def test_group_size_is_at_least_one_batch_and_at_most_the_maximum():
    assert group_size(0, 2) == group_size(1, 4) == 1
    assert group_size(3, 0) == 3  # no workers configured: one task
    assert group_size(10 * dispatch.BATCHES_PER_GROUP, 1) == dispatch.BATCHES_PER_GROUP


@pytest.mark.parametrize(("workers", "tasks"), [(1, 1), (2, 2), (4, 4), (8, 4)])
def test_more_workers_make_more_group_tasks(due_services, monkeypatch, workers, tasks):
    monkeypatch.setattr(dispatch, "BATCH_SIZE", 10)  # 2 batches per module
    made = dispatch_due(workers=workers)
    assert len(made) == tasks
    assert sorted(_claimed_ids(made)) == sorted(s.pk for s in due_services)
    # One run for the company, counting every batch whichever task has it.
    [run] = SyncRun.objects.all()
    assert run.batches_total == 4 and {task.run_id for task in made} == {run.pk}
    # Each batch is of one module, its services consecutive among that module's.
    for batch in (b for task in made for b in task.batches):
        modules = set(
            Service.objects.filter(pk__in=batch.service_ids).values_list("icb_module", flat=True)
        )
        assert modules == {batch.module_id} and len(batch.service_ids) == 10
        selected = batch.services(due_services[0].company_id).order_by("pk")
        assert list(selected.values_list("pk", flat=True)) == sorted(batch.service_ids)


def test_the_setting_sizes_the_group_tasks(due_services, monkeypatch, settings):
    monkeypatch.setattr(dispatch, "BATCH_SIZE", 10)
    settings.ICB_SYNC_WORKERS = 1
    [task] = dispatch_due()
    assert len(task.batches) == 4


@pytest.mark.parametrize("returning", [True, False])
def test_the_claimed_rows_are_read_in_chunks(due_services, monkeypatch, returning):
    monkeypatch.setattr(dispatch, "CLAIM_CHUNK", 7)  # 40 services: 6 chunks
    if not returning:
        monkeypatch.setattr(dispatch, "can_return_rows", lambda: False)
    tasks = dispatch_due(workers=1)
    assert sorted(_claimed_ids(tasks)) == sorted(s.pk for s in due_services)


def test_without_returning_the_claim_reads_its_services_by_token(due_services, monkeypatch):
    """SQLite before 3.35 has no UPDATE … RETURNING: the claim is read back by its token."""
    monkeypatch.setattr(dispatch, "can_return_rows", lambda: False)
    tasks = dispatch_due()
    assert sorted(_claimed_ids(tasks)) == sorted(s.pk for s in due_services)
    assert dispatch_due() == []


def test_two_dispatchers_at_once_claim_each_due_service_once(due_services):
    if connection.vendor == "sqlite":
        pytest.skip("two concurrent writers need a server database (runs on PostgreSQL)")
    ids = sorted(s.pk for s in due_services)
    for _attempt in range(5):
        Service.objects.filter(pk__in=ids).update(
            next_sync_at=timezone.now() - timedelta(minutes=1),
            sync_claim_token="",
            sync_claimed_until=None,
        )
        start = threading.Barrier(2)
        found: list[list] = [[], []]
        errors = []

        def run(slot):
            try:
                start.wait()
                found[slot] = dispatch_due()
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=run, args=(slot,)) for slot in (0, 1)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert not errors, errors
        claimed = [_claimed_ids(found[0]), _claimed_ids(found[1])]
        assert sorted(claimed[0] + claimed[1]) == ids  # each once, none left out
        # Each service holds the claim of the dispatcher that answered it.
        tokens = dict(Service.objects.filter(pk__in=ids).values_list("pk", "sync_claim_token"))
        for tasks in found:
            for batch in (b for task in tasks for b in task.batches):
                assert {tokens[i] for i in batch.service_ids} == {batch.claim_token}
