"""The review policy in the sync engine: a change the policy holds keeps the units and
records one held change per service, updated by later syncs, withdrawn when the hub is
back at the current units; a dismissed number is not held again. Against the sandbox hub
over HTTP. The policy's rules alone: tests/billing_sync/test_policy.py."""

from decimal import Decimal

import pytest
from django.utils import timezone

from icb.billing_sync.models import HeldChange, ReviewPolicy, SyncRun
from icb.billing_sync.services import stop_icb, sync_now
from icb.contracts.models import ServiceUnitChange

pytestmark = pytest.mark.django_db


def history(service):
    return list(
        ServiceUnitChange.objects.filter(service=service)
        .exclude(source="created")
        .order_by("id")
        .values_list("old_units", "new_units", "source")
    )


def held_of(service):
    return list(HeldChange.objects.filter(service=service).order_by("id"))


@pytest.fixture
def synced(icb_service, orgs, account, admin_user):
    """An ICB service synced once at 50 units (a 10 → 50 rise: applied by default)."""
    org = orgs.mapped(account, workstations=50)
    service = sync_now(service=icb_service, actor=admin_user)
    assert service.units == Decimal("50.00")
    service.org = org
    return service


def set_hub(connected, service, quantity):
    connected.set_quantity("rmm", service.org.external_id, "workstations", str(quantity))


def test_a_drop_to_zero_is_held_and_the_units_kept(synced, connected, admin_user):
    set_hub(connected, synced, 0)
    service = sync_now(service=synced, actor=admin_user)

    assert service.units == Decimal("50.00") and service.icb_status == "ok"
    assert history(service) == [(Decimal("10.00"), Decimal("50.00"), "sync")]
    [held] = held_of(service)
    assert (held.status, held.current_units, held.proposed_units, held.rule) == (
        "pending",
        Decimal("50.00"),
        Decimal("0.00"),
        "drop_to_zero",
    )
    assert held.detail["quantities"] == {synced.org.external_id: "0"}
    run = SyncRun.objects.order_by("-id").first()
    assert held.sync_run_id == held.last_run_id == run.pk
    assert (run.services_held, run.services_changed) == (1, 0)


def test_a_later_sync_updates_the_one_held_change(synced, connected, admin_user):
    set_hub(connected, synced, 0)
    sync_now(service=synced, actor=admin_user)
    first = held_of(synced)[0]
    set_hub(connected, synced, 10)  # still a drop of more than half
    service = sync_now(service=synced, actor=admin_user)
    set_hub(connected, synced, 10)
    service = sync_now(service=service, actor=admin_user)

    [held] = held_of(service)
    assert held.pk == first.pk and held.status == "pending"
    assert (held.proposed_units, held.rule) == (Decimal("10.00"), "drop_percent")
    assert held.last_seen_at > first.last_seen_at and held.first_seen_at == first.first_seen_at
    assert held.last_run_id == SyncRun.objects.order_by("-id").first().pk
    assert service.units == Decimal("50.00")


def test_back_at_the_current_units_withdraws_the_held_change(synced, connected, admin_user):
    set_hub(connected, synced, 0)
    sync_now(service=synced, actor=admin_user)
    set_hub(connected, synced, 50)
    service = sync_now(service=synced, actor=admin_user)

    [held] = held_of(service)
    assert held.status == "withdrawn" and held.decided_at is not None
    assert held.last_run_id == SyncRun.objects.order_by("-id").first().pk
    assert "reported the current units again" in held.note
    assert service.units == Decimal("50.00")
    assert len(history(service)) == 1


def test_an_applied_change_withdraws_the_pending_one(synced, connected, admin_user):
    set_hub(connected, synced, 0)
    sync_now(service=synced, actor=admin_user)
    set_hub(connected, synced, 48)  # a small drop: applied
    service = sync_now(service=synced, actor=admin_user)

    assert service.units == Decimal("48.00")
    assert [h.status for h in held_of(service)] == ["withdrawn"]


def test_a_dismissed_number_is_not_held_again_a_different_one_is(synced, connected, admin_user):
    set_hub(connected, synced, 0)
    sync_now(service=synced, actor=admin_user)
    HeldChange.objects.filter(service=synced).update(status="dismissed", decided_at=timezone.now())

    service = sync_now(service=synced, actor=admin_user)  # the same 0: silently kept
    assert service.units == Decimal("50.00")
    assert [h.status for h in held_of(service)] == ["dismissed"]
    assert len(history(service)) == 1
    assert SyncRun.objects.order_by("-id").first().services_unchanged == 1

    set_hub(connected, synced, 5)  # another number: held again
    service = sync_now(service=service, actor=admin_user)
    assert [h.status for h in held_of(service)] == ["dismissed", "pending"]
    assert held_of(service)[1].proposed_units == Decimal("5.00")


def test_auto_applies_everything_and_hold_all_holds_everything(
    synced, connected, admin_user, company
):
    ReviewPolicy.objects.update_or_create(company=company, module=None, defaults={"mode": "auto"})
    set_hub(connected, synced, 0)
    service = sync_now(service=synced, actor=admin_user)
    assert service.units == Decimal("0.00") and held_of(service) == []

    ReviewPolicy.objects.filter(company=company).update(mode="hold_all")
    set_hub(connected, synced, 1)
    service = sync_now(service=service, actor=admin_user)
    assert service.units == Decimal("0.00")
    assert [(h.rule, h.proposed_units) for h in held_of(service)] == [("hold_all", Decimal("1.00"))]


def test_a_module_override_wins_over_the_company_policy(synced, connected, admin_user, company):
    from icb.hub.models import Module

    ReviewPolicy.objects.update_or_create(
        company=company, module=None, defaults={"mode": "hold_all"}
    )
    ReviewPolicy.objects.create(
        company=company, module=Module.objects.get(company=company, code="rmm"), mode="auto"
    )
    set_hub(connected, synced, 0)
    assert sync_now(service=synced, actor=admin_user).units == Decimal("0.00")


def test_the_first_sync_is_held_when_the_policy_says_so(
    icb_service, orgs, account, admin_user, company
):
    ReviewPolicy.objects.update_or_create(
        company=company, module=None, defaults={"hold_first_sync": True}
    )
    orgs.mapped(account, workstations=12)
    service = sync_now(service=icb_service, actor=admin_user)
    assert service.units == Decimal("10.00")
    assert [h.rule for h in held_of(service)] == ["first_sync"]


def test_stopping_icb_withdraws_the_pending_held_change(synced, connected, admin_user):
    set_hub(connected, synced, 0)
    sync_now(service=synced, actor=admin_user)
    stop_icb(service=synced, actor=admin_user)
    [held] = held_of(synced)
    assert held.status == "withdrawn" and held.decided_by == admin_user


def test_unit_history_rows_carry_the_effective_date_in_the_company_zone(synced, company):
    row = ServiceUnitChange.objects.filter(service=synced, source="sync").get()
    assert row.effective_date == timezone.localdate(row.changed_at, company.zone)
