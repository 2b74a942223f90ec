"""A group task of several batches: the hub is read for the next batch (in a background
thread) while the current one is written. Each batch stands on its own: one failing
leaves the others' results, and the task still reads the hub once per batch. These
tests commit for real (the reader thread has its own database connection)."""

from decimal import Decimal

import pytest
from django.utils import timezone

from icb.billing_sync import dispatch
from icb.billing_sync.dispatch import dispatch_due
from icb.billing_sync.models import SyncRun
from icb.billing_sync.services import enable_icb
from icb.contracts.models import Service, ServiceUnitChange
from tests.billing_sync.helpers import run_group_tasks
from tests.factories import make_account, make_contract, make_service

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def three_batches(company, orgs, monkeypatch, settings):
    """Three accounts, each with one mapped organization and two ICB services; batches
    of two services, so each account's services are one batch of one group task (one
    worker: the three batches in one group task)."""
    monkeypatch.setattr(dispatch, "BATCH_SIZE", 2)
    settings.ICB_SYNC_WORKERS = 1
    world = []
    for i, quantity in enumerate((3, 5, 8)):
        account = make_account(company, f"Customer {i}", f"C{i}")
        org = orgs.mapped(account, workstations=quantity)
        contract = make_contract(account)
        services = [
            enable_icb(
                service=make_service(contract, f"Svc {i}.{n}", units="1"),
                actor=None,
                module="rmm",
                billing_type="workstations",
            )
            for n in range(2)
        ]
        world.append((org, services))
    Service.objects.update(next_sync_at=timezone.now())
    return world


def _units(services):
    return [Service.objects.get(pk=s.pk).units for s in services]


def test_each_batch_is_read_once_and_written_on_its_own(three_batches, connected):
    (_, first), (missing_org, second), (_, third) = three_batches
    connected.remove_organization("rmm", missing_org.external_id)  # batch 2 cannot be summed
    connected.reset_request_counts()
    [task] = dispatch_due()
    assert len(task.batches) == 3

    run_group_tasks(task)

    assert connected.request_counts().get("usage") == 3
    assert _units(first) == [Decimal("3.00")] * 2 and _units(third) == [Decimal("8.00")] * 2
    assert _units(second) == [Decimal("1.00")] * 2
    assert {Service.objects.get(pk=s.pk).icb_status for s in second} == {"error"}
    assert ServiceUnitChange.objects.filter(source="sync").count() == 4
    run = SyncRun.objects.get(pk=task.run_id)
    assert (run.batches_done, run.services_changed, run.services_failed) == (3, 4, 2)
    assert run.finished_at is not None
    assert not Service.objects.exclude(sync_claim_token="").exists()


def test_a_token_refused_mid_task_is_renewed_by_the_reader(three_batches, connected):
    connected.expire_tokens()  # the stored access token is now refused with a 401
    [task] = dispatch_due()

    run_group_tasks(task)

    services = [s for _, batch in three_batches for s in batch]
    assert {Service.objects.get(pk=s.pk).icb_status for s in services} == {"ok"}
    assert _units(services) == [Decimal(q) for q in ("3", "3", "5", "5", "8", "8")]
