"""Hub faults never change units: the service shows the error, the run records it, a
retry is scheduled with back-off, and the next success clears it."""

import datetime
from decimal import Decimal

import httpx
import pytest
from django.utils import timezone

from icb.billing_sync.dispatch import dispatch_due
from icb.billing_sync.models import SyncRun
from icb.billing_sync.services import sync_now
from icb.contracts.models import Service, ServiceUnitChange
from icb.hub import services as hub_services
from icb.hub.models import HubConnection
from tests.billing_sync.helpers import run_group_tasks

pytestmark = pytest.mark.django_db


@pytest.fixture
def synced(icb_service, orgs, account, admin_user):
    """An ICB service synced once to 10 units (= its start value: history stays empty)."""
    org = orgs.mapped(account, workstations=10)
    service = sync_now(service=icb_service, actor=admin_user)
    assert (service.units, service.icb_status) == (Decimal("10.00"), "ok")
    service.org = org
    return service


def _nightly(service):
    Service.objects.filter(pk=service.pk).update(next_sync_at=timezone.now())
    tasks = dispatch_due()
    run_group_tasks(*tasks)
    service.refresh_from_db()
    return SyncRun.objects.get(pk=tasks[0].run_id)


def _assert_failed_visibly(service, run, text):
    assert service.units == Decimal("10.00")
    assert service.icb_status == "error" and text in service.icb_message, service.icb_message
    assert service.sync_retry_count == 1
    wait = service.next_sync_at - timezone.now()
    assert datetime.timedelta(minutes=4) < wait <= datetime.timedelta(minutes=5)
    assert run.services_failed == 1 and run.errors and text in str(run.errors)
    assert not ServiceUnitChange.objects.filter(service=service, source="sync").exists()


def _assert_recovers(service, hub, admin_user):
    hub.clear_faults()
    hub.set_quantity("rmm", service.org.external_id, "workstations", "11")
    service = sync_now(service=service, actor=admin_user)
    assert (service.icb_status, service.icb_message, service.units) == ("ok", "", 11)
    assert service.sync_retry_count == 0 and service.next_sync_at > timezone.now()


@pytest.mark.parametrize(
    "fault, text",
    [
        ({"kind": "error", "status": 503}, "internal error (503)"),
        ({"kind": "error", "status": 500}, "internal error (500)"),
        ({"kind": "rate_limit", "retry_after": 0}, "rate-limiting"),
        ({"kind": "malformed"}, "not valid JSON"),
        ({"kind": "truncated"}, "not valid JSON"),
        ({"kind": "repeat_cursor"}, "kept answering the same page of usage"),
    ],
)
def test_hub_faults_keep_units(synced, connected, admin_user, fault, text):
    connected.set_fault(endpoint="usage", **fault)
    run = _nightly(synced)
    _assert_failed_visibly(synced, run, text)
    _assert_recovers(synced, connected, admin_user)


def test_rate_limit_retry_after_sets_the_retry_time(synced, connected, settings):
    settings.ICB_HUB_MAX_RETRY_WAIT = 0.01
    connected.set_fault(endpoint="usage", kind="rate_limit", retry_after=1800)
    _nightly(synced)
    assert synced.icb_status == "error" and "rate-limiting" in synced.icb_message
    wait = synced.next_sync_at - timezone.now()
    assert datetime.timedelta(minutes=29) < wait <= datetime.timedelta(minutes=30)


def test_timeout(synced, connected, admin_user, settings):
    settings.ICB_HUB_TIMEOUT = 0.2
    settings.ICB_HUB_ATTEMPTS = 2
    connected.set_fault(endpoint="usage", kind="latency", latency_ms=1500)
    run = _nightly(synced)
    _assert_failed_visibly(synced, run, "did not answer in time")
    _assert_recovers(synced, connected, admin_user)


def test_unreachable(synced, connected, admin_user, settings):
    from sandbox_hub.runner import free_port

    settings.ICB_HUB_URL = f"http://127.0.0.1:{free_port()}"
    run = _nightly(synced)
    _assert_failed_visibly(synced, run, "could not be reached")
    settings.ICB_HUB_URL = connected.url
    _assert_recovers(synced, connected, admin_user)


def test_organization_missing_from_the_answer(synced, connected, orgs, account, admin_user):
    gone = orgs.mapped(account, name="Closed site", workstations=3)
    connected.remove_organization("rmm", gone.external_id)
    run = _nightly(synced)
    _assert_failed_visibly(synced, run, gone.external_id)
    assert "did not report workstations" in synced.icb_message
    gone.mapping.delete()
    _assert_recovers(synced, connected, admin_user)


def test_hub_disconnected(synced, connected, company, admin_user, admin_client):
    from tests.clients import connect

    hub_services.disconnect(company=company)
    run = _nightly(synced)
    _assert_failed_visibly(synced, run, "is not connected")
    connect(admin_client)
    _assert_recovers(synced, connected, admin_user)


def test_tokens_revoked(synced, connected, company, admin_user, admin_client):
    from icb.hub.crypto import decrypt
    from tests.clients import connect

    connection = HubConnection.objects.get(company=company)
    refresh = decrypt(connection.refresh_token_encrypted)
    httpx.post(
        f"{connected.url}/oauth/revoke", data={"token": refresh}, auth=("icb", "icb-sandbox-secret")
    ).raise_for_status()
    run = _nightly(synced)
    _assert_failed_visibly(synced, run, "Reconnect it")
    connect(admin_client)
    _assert_recovers(synced, connected, admin_user)


def test_expired_access_token_is_refreshed_transparently(synced, connected, admin_user):
    connected.expire_tokens()
    connected.set_quantity("rmm", synced.org.external_id, "workstations", "12")
    assert sync_now(service=synced, actor=admin_user).units == 12


def test_garbled_token_refresh_keeps_units_and_the_next_sync_recovers(
    synced, connected, admin_user
):
    connected.expire_tokens()
    connected.set_fault(endpoint="token", kind="malformed", count=2)  # the answer and its retry
    run = _nightly(synced)
    _assert_failed_visibly(synced, run, "token refresh")
    _assert_recovers(synced, connected, admin_user)  # the hub's grace period


def test_failures_back_off_then_clear(synced, connected, admin_user):
    connected.set_fault(endpoint="usage", kind="error", status=502)
    waits = []
    for _ in range(4):
        _nightly(synced)
        waits.append(round((synced.next_sync_at - timezone.now()).total_seconds() / 60))
    assert waits == [5, 15, 60, 60] and synced.sync_retry_count == 4
    assert SyncRun.objects.filter(trigger="retry").count() == 3
    _assert_recovers(synced, connected, admin_user)
