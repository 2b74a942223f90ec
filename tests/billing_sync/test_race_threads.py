"""A manual sync and the nightly group task on the same service at the same moment, in
two threads with their own database connections (row locks are real on a server
database; SQLite's in-memory test database cannot serve two writers, so this runs in the
PostgreSQL pass)."""

import threading

import pytest
from django.db import connection

from icb.billing_sync.dispatch import dispatch_due
from icb.billing_sync.services import sync_now
from icb.contracts.models import Service, ServiceUnitChange
from tests.billing_sync.helpers import run_group_tasks

pytestmark = pytest.mark.django_db(transaction=True)


def test_manual_and_nightly_at_once_give_one_result(icb_service, orgs, account, admin_user):
    if connection.vendor == "sqlite":
        pytest.skip("two concurrent writers need a server database (runs on PostgreSQL)")
    orgs.mapped(account, workstations=21)
    for attempt in range(5):
        Service.objects.filter(pk=icb_service.pk).update(
            next_sync_at=icb_service.created_at, units=attempt
        )
        [task] = dispatch_due()
        start = threading.Barrier(2)
        errors = []

        def run(work):
            try:
                start.wait()
                work()
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)
            finally:
                connection.close()

        threads = [
            threading.Thread(target=run, args=(lambda t=task: run_group_tasks(t),)),
            threading.Thread(
                target=run, args=(lambda: sync_now(service=icb_service, actor=admin_user),)
            ),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert not errors, errors
        service = Service.objects.get(pk=icb_service.pk)
        assert (service.units, service.icb_status, service.sync_claim_token) == (21, "ok", "")
        changes = ServiceUnitChange.objects.filter(
            service=service, source="sync", old_units=attempt
        )
        assert changes.count() == 1, list(changes.values("old_units", "new_units"))
