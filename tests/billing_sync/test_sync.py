"""What a sync computes and writes, the dispatcher's claims and group tasks, and two syncs of
one service at once. Against the sandbox hub over HTTP."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from icb.billing_sync import dispatch, groups
from icb.billing_sync.dispatch import dispatch_due
from icb.billing_sync.models import SyncRun, SyncRunItem
from icb.billing_sync.scheduling import next_midnight
from icb.billing_sync.services import enable_icb, stop_icb, sync_now
from icb.contracts.models import Service, ServiceUnitChange
from tests.billing_sync.helpers import run_group_tasks
from tests.factories import make_account, make_contract, make_mapping, make_service

pytestmark = pytest.mark.django_db


def sync_history(service):
    return list(ServiceUnitChange.objects.filter(service=service, source="sync"))


def test_units_are_the_sum_of_the_mapped_organizations_own_quantities(
    icb_service, orgs, account, company, admin_user
):
    parent = orgs.mapped(account, name="Harbor Dental Group", workstations=12, servers=2)
    child = orgs.mapped(account, name="Harbor – Boston", parent=parent, workstations=5)
    orgs.add(name="Harbor – Unmapped site", parent=parent, workstations=100)  # not mapped
    other = make_account(company, "Other Customer", "OTHER")
    orgs.mapped(other, workstations=1000)  # another account's organization
    orgs.mapped(account, module="backup", protected_devices=77)  # another module

    service = sync_now(service=icb_service, actor=admin_user)

    assert service.units == Decimal("17.00")
    assert service.icb_status == "ok" and service.icb_message == ""
    assert service.last_sync_at is not None
    assert service.next_sync_at == next_midnight(service.last_sync_at, company.zone)
    [change] = sync_history(service)
    assert (change.old_units, change.new_units) == (Decimal("10.00"), Decimal("17.00"))
    assert change.sync_run_id == SyncRun.objects.get(trigger="manual").pk
    assert change.detail["quantities"] == {parent.external_id: "12", child.external_id: "5"}
    assert set(change.detail["measured_at"]) == {parent.external_id, child.external_id}
    run = SyncRun.objects.get(pk=change.sync_run_id)
    assert (run.services_changed, run.finished_at is not None, run.user) == (1, True, admin_user)


def test_unchanged_units_write_no_history_but_update_last_sync(
    icb_service, orgs, account, admin_user
):
    orgs.mapped(account, workstations=10)
    first = sync_now(service=icb_service, actor=admin_user)
    assert first.units == Decimal("10.00") and first.icb_status == "ok"
    second = sync_now(service=first, actor=admin_user)
    assert second.last_sync_at > first.last_sync_at
    assert sync_history(second) == []
    # A manual sync lists its service even when nothing changed.
    assert list(SyncRunItem.objects.filter(service=second).values_list("status", flat=True)) == [
        "unchanged",
        "unchanged",
    ]


@pytest.mark.usefixtures("auto_review")
def test_no_mapping_is_incomplete_then_clears_by_itself(icb_service, orgs, account, admin_user):
    service = sync_now(service=icb_service, actor=admin_user)
    assert service.icb_status == "mapping_incomplete"
    assert service.icb_message == "Mapping Settings Incomplete"
    assert service.units == Decimal("10.00") and sync_history(service) == []
    assert service.next_sync_at > timezone.now()

    orgs.mapped(account, workstations=3)
    service = sync_now(service=service, actor=admin_user)
    assert (service.icb_status, service.units) == ("ok", Decimal("3.00"))


def test_decimals_are_exact_and_rounded_to_cents(contract, orgs, account, admin_user, connected):
    service = enable_icb(
        service=make_service(contract, "Offsite storage"),
        actor=admin_user,
        module="backup",
        billing_type="offsite_storage_gb",
    )
    orgs.mapped(account, module="backup", offsite_storage_gb="1180.425")
    orgs.mapped(account, module="backup", offsite_storage_gb="0.1")
    orgs.mapped(account, module="backup", offsite_storage_gb="0.2")
    service = sync_now(service=service, actor=admin_user)
    assert service.units == Decimal("1180.73")  # 1180.725 half up


@pytest.mark.parametrize(
    "quantity, why",
    [
        ("9999999999.995", "cannot be stored"),
        ("12345678901", "cannot be stored"),
        ("-4", "unusable quantity"),
    ],
)
def test_values_that_cannot_be_stored_are_refused(
    icb_service, orgs, account, admin_user, connected, quantity, why
):
    org = orgs.mapped(account, workstations=4)
    connected.set_quantity("rmm", org.external_id, "workstations", quantity)
    service = sync_now(service=icb_service, actor=admin_user)
    assert service.icb_status == "error" and why in service.icb_message
    assert service.units == Decimal("10.00") and sync_history(service) == []


def test_stop_keeps_units_and_allows_editing_again(icb_service, orgs, account, admin_user):
    from icb.common.errors import Conflict
    from icb.contracts.services import service_update

    orgs.mapped(account, workstations=8)
    service = sync_now(service=icb_service, actor=admin_user)
    with pytest.raises(Conflict):
        service_update(service=service, actor=admin_user, units="9")
    service = stop_icb(service=service, actor=admin_user)
    assert (service.billing_mode, service.units, service.next_sync_at) == (
        "manual",
        Decimal("8.00"),
        None,
    )
    assert service_update(service=service, actor=admin_user, units="9").units == Decimal("9.00")
    again = enable_icb(service=service, actor=admin_user, module="rmm", billing_type="workstations")
    assert again.billing_mode == "icb" and sync_now(service=again, actor=admin_user).units == 8


# --- the dispatcher and group tasks -------------------------------------------------------


def _icb(contract, name, module="rmm", billing_type="workstations", due=True):
    service = make_service(contract, name, units="0")
    service = enable_icb(service=service, actor=None, module=module, billing_type=billing_type)
    if due:
        Service.objects.filter(pk=service.pk).update(
            next_sync_at=timezone.now() - datetime.timedelta(minutes=1)
        )
    return service


def test_dispatch_claims_due_services_once_and_groups_by_module(
    contract, orgs, account, company, connected, monkeypatch
):
    orgs.mapped(account, workstations=4, servers=1)
    orgs.mapped(account, module="backup", protected_devices=6)
    rmm = [_icb(contract, f"RMM {i}") for i in range(3)]
    servers = _icb(contract, "Servers", billing_type="servers")
    backup = _icb(contract, "Backup", module="backup", billing_type="protected_devices")
    later = _icb(contract, "Not due", due=False)
    manual = make_service(contract, "Manual")

    monkeypatch.setattr(dispatch, "BATCH_SIZE", 3)
    tasks = dispatch_due()
    assert dispatch_due() == []  # a second dispatcher finds nothing to claim
    claimed = sorted(i for task in tasks for i in task.service_ids)
    assert claimed == sorted([s.pk for s in rmm] + [servers.pk, backup.pk])
    assert later.pk not in claimed and manual.pk not in claimed
    # rmm: 4 services in batches of 3 and 1; backup: one batch of 1; one claim token.
    batches = [b for task in tasks for b in task.batches]
    assert sorted(len(b.service_ids) for b in batches) == [1, 1, 3]
    assert {b.module_id for b in batches if len(b.service_ids) == 3} == {rmm[0].icb_module_id}
    assert len({b.claim_token for b in batches}) == 1
    [run] = SyncRun.objects.all()
    assert (run.trigger, run.batches_total) == ("nightly", 3)

    run_group_tasks(*tasks)
    units = dict(Service.objects.filter(contract=contract).values_list("name", "units"))
    assert units["RMM 0"] == units["RMM 2"] == 4 and units["Servers"] == 1
    assert units["Backup"] == 6 and units["Not due"] == 0
    run.refresh_from_db()
    assert (run.services_changed, run.batches_done, run.finished_at is not None) == (5, 3, True)
    assert not Service.objects.exclude(sync_claim_token="").exists()
    assert dispatch_due() == []  # all scheduled for the next midnight


def test_one_hub_read_per_batch(contract, company, connected, orgs):
    accounts = [make_account(company, f"Customer {i}", f"C{i}") for i in range(5)]
    for i, acc in enumerate(accounts):
        orgs.mapped(acc, workstations=i + 1)
        orgs.mapped(acc, workstations=10)
        _icb(make_contract(acc, f"Deal {i}"), f"Svc {i}")
    connected.reset_request_counts()
    [task] = dispatch_due()
    run_group_tasks(task)
    assert connected.request_counts().get("usage") == 1
    assert sorted(Service.objects.filter(billing_mode="icb").values_list("units", flat=True)) == [
        11,
        12,
        13,
        14,
        15,
    ]


def test_an_expired_claim_is_taken_again_and_the_old_holder_writes_nothing(
    contract, orgs, account, connected
):
    orgs.mapped(account, workstations=7)
    service = _icb(contract, "Svc")
    [dead] = dispatch_due()  # a worker that dies with this task
    later = timezone.now() + dispatch.CLAIM_TTL + datetime.timedelta(seconds=1)
    assert dispatch_due(timezone.now()) == []  # still claimed
    [retry] = dispatch_due(later)
    assert retry.batches[0].claim_token != dead.batches[0].claim_token
    run_group_tasks(dead)  # comes back to life: no-op
    service.refresh_from_db()
    assert service.units == 0 and service.last_sync_at is None
    run_group_tasks(retry)
    service.refresh_from_db()
    assert service.units == 7 and len(sync_history(service)) == 1


def test_overdue_services_catch_up(contract, orgs, account, connected):
    orgs.mapped(account, workstations=2)
    service = _icb(contract, "Svc", due=False)
    Service.objects.filter(pk=service.pk).update(
        next_sync_at=timezone.now() - datetime.timedelta(days=3)
    )  # down for three nights
    [task] = dispatch_due()
    run_group_tasks(task)
    service.refresh_from_db()
    assert service.units == 2 and service.next_sync_at > timezone.now()
    assert len(sync_history(service)) == 1


def test_manual_sync_during_a_nightly_sync_gives_one_result(
    contract, orgs, account, connected, admin_user, monkeypatch
):
    """The nightly group task reads the hub; meanwhile a person syncs the same service by hand
    (and the hub's number moves). One consistent result, one history row per change."""
    org = orgs.mapped(account, workstations=5)
    service = _icb(contract, "Svc")
    [task] = dispatch_due()
    real_fetch = groups.fetch_usage
    calls = []

    def fetch_then_manual(*args, **kwargs):
        usage = real_fetch(*args, **kwargs)
        if not calls:
            calls.append(1)
            connected.set_quantity("rmm", org.external_id, "workstations", "6")
            assert sync_now(service=service, actor=admin_user).units == 6
        return usage

    monkeypatch.setattr(groups, "fetch_usage", fetch_then_manual)
    run_group_tasks(task)  # read 5, but lost the claim
    service.refresh_from_db()
    assert service.units == 6
    assert [(c.old_units, c.new_units) for c in sync_history(service)] == [(0, 6)]
    nightly = SyncRun.objects.get(pk=task.run_id)
    assert nightly.services_total == 0 and nightly.finished_at is not None

    # The other order: the nightly write lands first, then a manual sync sees no change.
    Service.objects.filter(pk=service.pk).update(next_sync_at=timezone.now())
    [task] = dispatch_due()
    calls.append(1)
    run_group_tasks(task)
    assert sync_now(service=service, actor=admin_user).units == 6
    assert len(sync_history(service)) == 1


def test_changing_module_during_a_sync_discards_its_result(contract, orgs, account, connected):
    orgs.mapped(account, workstations=5, servers=9)
    service = _icb(contract, "Svc")
    [task] = dispatch_due()
    enable_icb(service=service, actor=None, module="rmm", billing_type="servers")
    run_group_tasks(task)
    service.refresh_from_db()
    assert service.units == 0 and service.icb_status == "never"


def test_mapping_shared_by_two_services_of_different_accounts_is_never_counted_twice(
    company, connected, orgs
):
    a, b = make_account(company, "A", "A"), make_account(company, "B", "B")
    org = orgs.add(workstations=4)
    make_mapping(a, org)
    sa, sb = _icb(make_contract(a), "A svc"), _icb(make_contract(b), "B svc")
    [task] = dispatch_due()
    run_group_tasks(task)
    sa.refresh_from_db()
    sb.refresh_from_db()
    assert (sa.units, sa.icb_status) == (4, "ok")
    assert (sb.units, sb.icb_status) == (0, "mapping_incomplete")
