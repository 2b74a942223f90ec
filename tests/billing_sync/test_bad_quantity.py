"""An organization with an unusable quantity (negative, not a number, a float) fails only
the services whose organizations include it; the other services of the batch sync."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from icb.billing_sync.compute import compute_units
from icb.billing_sync.dispatch import dispatch_due
from icb.billing_sync.models import SyncRun
from icb.billing_sync.services import enable_icb
from icb.contracts.models import Service, ServiceUnitChange
from icb.hub.client import UsageResult
from tests.billing_sync.helpers import run_group_tasks
from tests.factories import make_account, make_contract, make_service

pytestmark = pytest.mark.django_db

MEASURED = datetime.datetime(2026, 11, 26, 4, tzinfo=datetime.UTC)


def _usage(quantities: dict, unusable: dict) -> UsageResult:
    return UsageResult(
        quantities={(o, "workstations"): Decimal(q) for o, q in quantities.items()},
        measured_at={(o, "workstations"): MEASURED for o in quantities},
        missing=set(),
        unusable={(o, "workstations"): why for o, why in unusable.items()},
    )


def test_compute_fails_only_a_service_that_uses_the_unusable_organization():
    usage = _usage({"a": "3", "b": "4"}, {"bad": "quantity -1 is negative"})
    failed = compute_units(["a", "bad"], "workstations", usage)
    assert failed.status == "error" and failed.units is None
    assert failed.message == (
        "Integration Hub reported an unusable quantity for organization bad "
        "(quantity -1 is negative); units were kept."
    )
    fine = compute_units(["a", "b"], "workstations", usage)
    assert (fine.status, fine.units) == ("ok", Decimal("7.00"))
    # An unusable row of another billing type concerns other services.
    other = UsageResult(
        quantities={("a", "workstations"): Decimal(3)},
        measured_at={},
        missing=set(),
        unusable={("a", "servers"): "no quantity"},
    )
    assert compute_units(["a"], "workstations", other).units == Decimal("3.00")


def test_a_bad_quantity_fails_only_the_dependent_service_of_a_nightly_batch(
    connected, orgs, company, admin_user
):
    services = []
    for n in range(4):
        account = make_account(company, f"Customer {n}", f"C{n}")
        contract = make_contract(account)
        service = make_service(contract, "Managed Workstations", units="10")
        services.append(
            enable_icb(service=service, actor=admin_user, module="rmm", billing_type="workstations")
        )
        orgs.mapped(account, workstations=n + 1)
        orgs.mapped(account, workstations=100)
    bad = orgs.mapped(services[2].contract.account, workstations=1)
    connected.set_quantity("rmm", bad.external_id, "workstations", "-3")

    Service.objects.filter(pk__in=[s.pk for s in services]).update(next_sync_at=timezone.now())
    tasks = dispatch_due()
    assert sum(len(task.batches) for task in tasks) == 1  # one batch, one hub read
    run_group_tasks(*tasks)

    for service in services:
        service.refresh_from_db()
    failed = services[2]
    assert failed.icb_status == "error" and failed.units == Decimal("10.00")
    assert failed.icb_message == (
        f"Integration Hub reported an unusable quantity for organization {bad.external_id} "
        "(quantity -3 is negative); units were kept."
    )
    assert not ServiceUnitChange.objects.filter(service=failed, source="sync").exists()
    assert [s.units for s in services if s is not failed] == [
        Decimal("101.00"),
        Decimal("102.00"),
        Decimal("104.00"),
    ]
    assert all(s.icb_status == "ok" for s in services if s is not failed)
    run = SyncRun.objects.get(pk=tasks[0].run_id)
    assert (run.services_changed, run.services_failed) == (3, 1)
    assert bad.external_id in str(run.errors)
