"""The decisions on held changes and the policy's changes (review.services)."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from icb.billing_sync.models import HeldChange, ReviewPolicyChange
from icb.billing_sync.services import stop_icb
from icb.common.errors import Conflict, InvalidInput
from icb.contracts.models import Service, ServiceUnitChange
from icb.review import selectors, services
from tests.factories import make_module, make_user

pytestmark = pytest.mark.django_db


def decisions(service):
    return list(
        ServiceUnitChange.objects.filter(service=service, source__in=["approved", "adjusted"])
    )


def today(company):
    return timezone.localdate(timezone.now(), company.zone)


def test_approve_writes_the_units_and_one_dated_history_row(synced, admin_user, company):
    held = synced.hold(0)
    day = today(company) - datetime.timedelta(days=3)
    decided = services.approve(held=held, actor=admin_user, effective_date=day.isoformat())

    assert decided.status == "approved" and decided.decided_by == admin_user
    assert decided.effective_date == day and decided.decided_units == Decimal("0.00")
    assert Service.objects.get(pk=synced.service.pk).units == Decimal("0.00")
    [row] = decisions(synced.service)
    assert (row.old_units, row.new_units, row.user, row.effective_date) == (
        Decimal("50.00"),
        Decimal("0.00"),
        admin_user,
        day,
    )
    assert row.detail["quantities"] == {synced.org.external_id: "0"}


def test_approve_without_a_date_is_effective_today(synced, admin_user, company):
    services.approve(held=synced.hold(0), actor=admin_user)
    assert decisions(synced.service)[0].effective_date == today(company)


@pytest.mark.parametrize("days, words", [(1, "future"), (-5000, "before the contract starts")])
def test_an_effective_date_in_the_future_or_before_the_start_is_refused(
    synced, admin_user, company, days, words
):
    held = synced.hold(0)
    day = today(company) + datetime.timedelta(days=days)
    with pytest.raises(InvalidInput, match=words) as refused:
        services.approve(held=held, actor=admin_user, effective_date=day)
    assert refused.value.errors.keys() == {"effective_date"}
    assert HeldChange.objects.get(pk=held.pk).status == "pending"
    assert decisions(synced.service) == []


def test_dismiss_keeps_the_units_with_the_reason(synced, admin_user):
    held = synced.hold(0)
    decided = services.dismiss(held=held, actor=admin_user, reason="  RMM agent outage ")
    assert (decided.status, decided.note) == ("dismissed", "RMM agent outage")
    assert Service.objects.get(pk=synced.service.pk).units == Decimal("50.00")
    assert decisions(synced.service) == []
    # The same number again: kept silently; another one: held again.
    synced.sync()
    assert HeldChange.objects.filter(service=synced.service, status="pending").count() == 0
    assert synced.hold(3).proposed_units == Decimal("3.00")


def test_adjust_sets_another_number_with_a_note(synced, admin_user):
    held = synced.hold(0)
    decided = services.adjust(held=held, actor=admin_user, units="20", note="Half the sites")
    assert (decided.status, decided.decided_units) == ("adjusted", Decimal("20.00"))
    [row] = decisions(synced.service)
    assert (row.new_units, row.source, row.note) == (Decimal("20.00"), "adjusted", "Half the sites")


def test_adjust_names_every_refused_field(synced, admin_user):
    held = synced.hold(0)
    with pytest.raises(InvalidInput) as refused:
        services.adjust(held=held, actor=admin_user, units="-1", note=" ")
    assert set(refused.value.errors) == {"units", "note"}


def test_a_second_decision_is_a_conflict_naming_who_decided(synced, admin_user, company):
    held = synced.hold(0)
    services.dismiss(held=held, actor=admin_user)
    other = make_user(company, "finance@acme.test", role="Finance")
    with pytest.raises(Conflict, match="already dismissed by admin@acme.test") as refused:
        services.approve(held=held, actor=other)
    assert refused.value.code == "already_decided"
    assert Service.objects.get(pk=synced.service.pk).units == Decimal("50.00")


def test_a_service_switched_to_manual_billing_is_a_conflict(synced, admin_user):
    held = synced.hold(0)
    stop_icb(service=synced.service, actor=admin_user)
    with pytest.raises(Conflict, match="switched to manual billing") as refused:
        services.approve(held=held, actor=admin_user)
    assert refused.value.code == "not_synced"
    assert decisions(synced.service) == []


def test_bulk_decides_the_pending_and_skips_the_decided(synced, admin_user, company):
    held = synced.hold(0)
    result = services.decide_many(held_changes=[held, held], actor=admin_user, action="approve")
    assert result.decided == [held.pk] and list(result.skipped) == [held.pk]
    assert len(decisions(synced.service)) == 1
    with pytest.raises(InvalidInput):
        services.decide_many(held_changes=[held], actor=admin_user, action="explode")


def test_the_list_is_sorted_by_monthly_impact_with_totals(synced, admin_user, company):
    from icb.review.filters import HeldFilter

    synced.hold(0)
    listed = selectors.held_list(company=company, filters=HeldFilter())
    assert listed.count == 1 and listed.rows[0][1] == Decimal("-2250.00")  # -50 × 45.00
    assert listed.decreases == {"USD": Decimal("-2250.00")} and listed.increases == {}
    assert selectors.held_list(company=company, filters=HeldFilter(direction="up")).count == 0
    big = HeldFilter(min_impact=Decimal("2250.01"))
    assert selectors.held_list(company=company, filters=big).count == 0


# --- the policy ----------------------------------------------------------------------


def test_the_default_policy_and_its_recorded_changes(company, admin_user):
    assert selectors.policy_of(company) == {
        "mode": "hold_unusual",
        "max_units": None,
        "max_percent": None,
        "hold_drop_to_zero": True,
        "hold_drop_percent": 50,
        "hold_first_sync": False,
        "modules": {},
    }
    make_module(company, "backup", "Backup")
    new = {
        **selectors.policy_of(company),
        "max_units": 25,
        "modules": {
            "backup": {
                "mode": "hold_all",
                "max_units": None,
                "max_percent": None,
                "hold_drop_to_zero": True,
                "hold_drop_percent": None,
                "hold_first_sync": True,
            }
        },
    }
    assert services.policy_update(company=company, actor=admin_user, data=new) == new
    services.policy_update(company=company, actor=admin_user, data=new)  # the same: not recorded
    [change] = ReviewPolicyChange.objects.filter(company=company)
    assert change.user == admin_user and change.new == new and change.old["max_units"] is None


def test_a_bad_policy_names_its_fields_and_changes_nothing(company, admin_user):
    bad = {
        "mode": "sometimes",
        "max_units": -1,
        "max_percent": True,
        "hold_drop_to_zero": "yes",
        "hold_drop_percent": 101,
        "hold_first_sync": False,
        "modules": {"nope": {}},
    }
    with pytest.raises(InvalidInput) as refused:
        services.policy_update(company=company, actor=admin_user, data=bad)
    assert set(refused.value.errors) == {
        "mode",
        "max_units",
        "max_percent",
        "hold_drop_to_zero",
        "hold_drop_percent",
        "modules.nope",
    }
    assert not ReviewPolicyChange.objects.exists()


# --- what the outbox is told (docs/webhooks.md) ----------------------------------------


def _events(company, type):
    from icb.events.models import Event

    return [e.payload for e in Event.objects.filter(company=company, type=type).order_by("id")]


def test_holding_and_deciding_are_told_to_the_outbox(synced, admin_user, company):
    held = synced.hold(0)
    synced.sync()  # seen again, the same number: nothing more to tell
    [told] = _events(company, "change.held")
    assert told["held_change_id"] == held.pk and told["rule"] == "drop_to_zero"
    assert (told["current_units"], told["proposed_units"]) == ("50.00", "0.00")
    assert (told["monthly_impact"], told["currency"]) == ("-2250.00", "USD")
    assert told["account_name"] == "Harbor Dental Group" and told["run_id"] == held.sync_run_id
    services.approve(held=held, actor=admin_user)
    [decided] = _events(company, "change.decided")
    assert (decided["decision"], decided["units"], decided["user"]) == (
        "approved",
        "0.00",
        "admin@acme.test",
    )


def test_a_withdrawal_is_told_without_a_user(synced, company):
    synced.hold(0)
    synced.report(50)
    synced.sync()
    [decided] = _events(company, "change.decided")
    assert (decided["decision"], decided["units"], decided["user"]) == ("withdrawn", "50.00", None)
