"""The rows a batch write stores, value by value, for a batch larger than one statement's
worth of rows: on PostgreSQL the history rows and run items are streamed with COPY and
the units joined from arrays, so a wrong type, quoting or escape would store something
else than what the sync computed."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from icb.billing_sync import bulk
from icb.billing_sync.compute import Outcome, Plan
from icb.billing_sync.dispatch import Batch
from icb.billing_sync.models import SyncRun, SyncRunItem
from icb.billing_sync.write import write_batch
from icb.contracts.models import Service, ServiceUnitChange, SyncStatus
from icb.hub.client import UsageResult
from tests.factories import make_module, make_service

CHANGED = 1_200  # more than one multi-row INSERT (500) and one units chunk (1,000)
# Organization ids and a message that a careless COPY or array literal would mangle.
ODD_IDS = ['t-"quoted"', "t-back\\slash", "t-tab\there", "t-line\nbreak", "t-ünï ✓", "t-{a,b}"]


@pytest.fixture
def batch_services(contract, company):
    module = make_module(company, "rmm", "RMM")
    first = make_service(
        contract, "Svc 0", units="10.50", billing_mode="icb", icb_module=module, icb_status="ok"
    )
    clones = []
    for n in range(1, CHANGED + 10):
        clone = Service.objects.get(pk=first.pk)
        clone.pk, clone.name, clone.units = None, f"Svc {n}", Decimal(n) / 4
        clones.append(clone)
    Service.objects.bulk_create(clones)
    services = list(Service.objects.filter(company=company).order_by("id"))
    Service.objects.filter(company=company).update(sync_claim_token="tok")
    return module, services


@pytest.mark.parametrize("joined", [True, False], ids=["units joined", "units by CASE"])
def test_a_large_batch_stores_exactly_the_rows_it_computed(
    company, batch_services, joined, monkeypatch
):
    """Both ways of writing the changed units: joined with their state in one statement
    (PostgreSQL, SQLite 3.33+), and one CASE per chunk (older SQLite)."""
    if not joined:
        monkeypatch.setattr(bulk, "units_joined", lambda: None)
    module, services = batch_services
    now = timezone.now().replace(microsecond=123456)
    measured = datetime.datetime(2026, 11, 26, 23, 59, 58, 654321, tzinfo=datetime.UTC)
    run = SyncRun.objects.create(company=company, trigger="nightly", batches_total=1)
    outcomes, expected_history, expected_items = {}, {}, {}
    for n, service in enumerate(services):
        if n < CHANGED:
            orgs = [ODD_IDS[n % len(ODD_IDS)] + f"-{n}", f"plain-{n}"]
            quantities = [Decimal(n) + Decimal("0.01"), Decimal("1234567.89")]
            usage = UsageResult(
                quantities={}, measured_at={(orgs[0], "workstations"): measured}, missing=set()
            )
            new_units = sum(quantities, Decimal(0))
            outcomes[service.pk] = Outcome(
                SyncStatus.OK,
                units=new_units,
                module_code="rmm",
                billing_type="workstations",
                organization_ids=orgs,
                quantities=quantities,
                usage=usage,
            )
            expected_history[service.pk] = (
                service.units,
                new_units,
                {
                    "module": "rmm",
                    "billing_type": "workstations",
                    "quantities": {orgs[0]: f"{n}.01", orgs[1]: "1234567.89"},
                    "measured_at": {orgs[0]: "2026-11-26T23:59:58.654321+00:00"},
                },
            )
        elif n == CHANGED:  # unchanged: no row
            outcomes[service.pk] = Outcome(SyncStatus.OK, units=service.units)
        else:  # failed: a run item, the units kept
            message = f'Hub said "no"\tfor\\{n}\nté'
            outcomes[service.pk] = Outcome(SyncStatus.ERROR, message=message)
            expected_items[service.pk] = ("error", service.units, service.units, message)
    batch = Batch("tok", module.pk, services[0].pk, services[-1].pk)

    write_batch(run, Plan(batch, outcomes=outcomes, reads=[]), now)

    stored = {
        row.service_id: row
        for row in ServiceUnitChange.objects.filter(company=company, source="sync")
    }
    assert set(stored) == set(expected_history)
    for service_id, (old, new, detail) in expected_history.items():
        row = stored[service_id]
        assert (row.old_units, row.new_units, row.detail) == (old, new, detail)
        assert (row.changed_at, row.sync_run_id, row.user_id) == (now, run.pk, None)
    items = {
        item.service_id: (item.status, item.old_units, item.new_units, item.message)
        for item in SyncRunItem.objects.filter(run=run)
    }
    assert items == expected_items
    after = {s.pk: s for s in Service.objects.filter(company=company)}
    for service_id, (_, new, _) in expected_history.items():
        service = after[service_id]
        assert (service.units, service.icb_status, service.sync_claim_token) == (new, "ok", "")
        assert (service.updated_at, service.last_sync_at) == (now, now)
    for service_id, (_, old, _, message) in expected_items.items():
        assert (after[service_id].units, after[service_id].icb_message) == (old, message)
    run.refresh_from_db()
    assert (run.services_changed, run.services_unchanged, run.services_failed) == (
        CHANGED,
        1,
        len(expected_items),
    )
