"""A nightly sync and a person approving the same held change at the same moment, in two
threads with their own database connections: one outcome and one history row, whichever
goes first (both lock the service's row first). Row locks are real on a server database;
this runs in the PostgreSQL pass."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from icb.billing_sync.dispatch import dispatch_due
from icb.billing_sync.models import HeldChange
from icb.common.errors import Conflict
from icb.contracts.models import Service, ServiceUnitChange
from icb.review import services
from tests.billing_sync.helpers import run_group_tasks

pytestmark = pytest.mark.django_db(transaction=True)


def test_nightly_and_approval_at_once_give_one_outcome(synced, admin_user):
    if connection.vendor == "sqlite":
        pytest.skip("two concurrent writers need a server database (runs on PostgreSQL)")
    service = synced.service
    for attempt in range(5):
        Service.objects.filter(pk=service.pk).update(units=Decimal(50 + attempt))
        HeldChange.objects.filter(service=service, status="pending").update(status="withdrawn")
        synced.report(0)
        held = synced.hold(0)
        Service.objects.filter(pk=service.pk).update(next_sync_at=service.created_at)
        [task] = dispatch_due()
        start = threading.Barrier(2)
        errors = []

        def run(work):
            try:
                start.wait()
                work()
            except Conflict as exc:  # pragma: no cover - the sync never decides it
                errors.append(exc)
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)
            finally:
                connection.close()

        threads = [
            threading.Thread(target=run, args=(lambda t=task: run_group_tasks(t),)),
            threading.Thread(
                target=run,
                args=(lambda h=held: services.approve(held=h, actor=admin_user),),
            ),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert not errors, errors
        assert Service.objects.get(pk=service.pk).units == 0
        assert HeldChange.objects.get(pk=held.pk).status == "approved"
        assert not HeldChange.objects.filter(service=service, status="pending").exists()
        rows = ServiceUnitChange.objects.filter(service=service, old_units=50 + attempt)
        assert list(rows.values_list("source", "new_units")) == [("approved", 0)]
