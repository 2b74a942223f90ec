"""A run whose worker died (or whose manual sync's web request was ended) is closed as
interrupted by the next dispatch once its claims have expired, never left "Running"; its
services are taken by that dispatch; a group task of it that comes back late leaves its
counts true."""

from datetime import datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from icb.billing_sync import dispatch
from icb.billing_sync.dispatch import CLAIM_TTL, MANUAL_CLAIM_TTL, dispatch_due
from icb.billing_sync.models import SyncRun
from icb.billing_sync.services import enable_icb
from icb.contracts.models import Service
from tests.billing_sync.helpers import run_group_tasks
from tests.clients import Api
from tests.factories import make_service

pytestmark = pytest.mark.django_db


def _next_noon(company) -> datetime:
    """A dispatch time at noon in the company's zone, after now: the half hour of claims
    these tests step over must not cross midnight, when synced services are due again
    (the tests would then depend on the hour they run at)."""
    local = timezone.localtime(timezone.now(), company.zone)
    noon = local.replace(hour=12, minute=0, second=0, microsecond=0)
    return noon if noon > local else noon + timedelta(days=1)


@pytest.fixture
def two_batches(contract, account, orgs, admin_user, monkeypatch):
    """Two due ICB services, dispatched as two batches in two group tasks."""
    monkeypatch.setattr(dispatch, "BATCH_SIZE", 1)
    monkeypatch.setattr(dispatch, "BATCHES_PER_GROUP", 1)
    orgs.mapped(account, workstations=7)
    services = [
        enable_icb(
            service=make_service(contract, name, units="1"),
            actor=admin_user,
            module="rmm",
            billing_type="workstations",
        )
        for name in ("First", "Second")
    ]
    Service.objects.filter(pk__in=[s.pk for s in services]).update(next_sync_at=timezone.now())
    return services


def test_a_run_whose_claims_expired_is_closed_as_interrupted(two_batches, admin_client, company):
    started = _next_noon(company)
    first, dead = dispatch_due(started)
    assert first.run_id == dead.run_id
    run_group_tasks(first, now=started + timedelta(seconds=5))  # the other worker died
    run = SyncRun.objects.get(pk=first.run_id)
    assert (run.finished_at, run.batches_done, run.batches_total) == (None, 1, 2)

    # Still within the claim: the run is left running.
    assert dispatch_due(started + CLAIM_TTL - timedelta(minutes=1)) == []
    run.refresh_from_db()
    assert run.finished_at is None and not run.interrupted and run.status == "running"

    later = started + CLAIM_TTL + timedelta(minutes=1)
    (retaken,) = dispatch_due(later)
    run.refresh_from_db()
    assert run.interrupted and run.status == "interrupted" and run.finished_at == later
    assert (run.batches_done, run.batches_total, run.batches_unfinished) == (1, 2, 1)
    assert (run.services_changed, run.services_unchanged, run.services_failed) == (1, 0, 0)
    # The dead batch's service is taken by the same dispatch, in a new run.
    assert retaken.run_id != run.pk and retaken.service_ids == dead.service_ids

    api_run = Api(admin_client).get(f"/sync-runs/{run.pk}").json()
    assert api_run["status"] == "interrupted" and api_run["finished_at"]
    assert (api_run["batches_done"], api_run["batches_total"]) == (1, 2)
    listed = admin_client.get(reverse("billing_sync:runs")).content.decode()
    assert "Interrupted" in listed
    detail = admin_client.get(reverse("billing_sync:run_detail", args=[run.pk])).content.decode()
    assert "Interrupted" in detail and "1 of 2 batches was never written" in detail
    assert "Running" not in detail

    # The dead group task comes back late: its service is no longer its to write, and the
    # closed run keeps its counts and its state.
    run_group_tasks(dead, now=later + timedelta(seconds=1))
    run_group_tasks(retaken, now=later + timedelta(seconds=2))
    closed = SyncRun.objects.get(pk=run.pk)
    assert (closed.batches_done, closed.services_changed, closed.services_total) == (1, 1, 1)
    assert closed.interrupted and closed.finished_at == later
    new_run = SyncRun.objects.get(pk=retaken.run_id)
    assert new_run.status == "finished" and new_run.services_changed == 1
    assert set(
        Service.objects.filter(pk__in=[s.pk for s in two_batches]).values_list(
            "units", "sync_claim_token"
        )
    ) == {(7, "")}


def test_a_late_batch_still_holding_its_claim_is_counted_on_the_closed_run(two_batches, company):
    started = _next_noon(company)
    first, late = dispatch_due(started)
    run_group_tasks(first, now=started)
    later = started + CLAIM_TTL + timedelta(minutes=1)
    dispatch.close_interrupted(later)  # closed, but nothing dispatched since
    run_group_tasks(late, now=later + timedelta(seconds=1))
    run = SyncRun.objects.get(pk=first.run_id)
    # Its service was written by the late batch: counted here, the run stays closed.
    assert run.services_changed == 2 and run.interrupted and run.finished_at == later
    assert run.batches_done == 1


def test_a_manual_sync_whose_request_died_is_closed_after_its_short_claim(icb_service):
    task = dispatch.claim_for_manual_sync(icb_service, user=None)  # and then nothing
    started = SyncRun.objects.get(pk=task.run_id).started_at
    dispatch_due(started + MANUAL_CLAIM_TTL - timedelta(seconds=10))
    assert SyncRun.objects.get(pk=task.run_id).status == "running"
    dispatch_due(started + MANUAL_CLAIM_TTL + timedelta(seconds=10))
    assert SyncRun.objects.get(pk=task.run_id).status == "interrupted"


def test_closing_is_one_statement(django_assert_num_queries):
    with django_assert_num_queries(1):
        assert dispatch.close_interrupted(timezone.now()) == 0
