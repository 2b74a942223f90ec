"""The outbox: an event exists exactly when the transaction that recorded it committed;
its payload is stored as JSON (decimals as strings, times ISO 8601 in UTC)."""

import datetime
from decimal import Decimal

import pytest
from django.db import transaction

from icb.common.errors import InvalidInput
from icb.events.models import Event
from icb.events.selectors import events_between
from icb.events.services import record_event

pytestmark = pytest.mark.django_db


def test_an_event_of_a_rolled_back_change_is_not_recorded(company):
    with pytest.raises(RuntimeError), transaction.atomic():
        record_event(company=company, type="change.held", payload={"held_change_id": 1})
        raise RuntimeError("the change failed")
    assert not Event.objects.exists()


def test_the_payload_is_stored_as_json(company):
    at = datetime.datetime(2026, 11, 27, 5, 0, 1, tzinfo=datetime.UTC)
    event = record_event(
        company=company.pk,
        type="change.held",
        payload={"monthly_impact": Decimal("-1250.50"), "first_seen": at, "id": 3},
    )
    stored = Event.objects.get(pk=event.pk)
    assert stored.payload == {
        "monthly_impact": "-1250.50",
        "first_seen": "2026-11-27T05:00:01Z",
        "id": 3,
    }
    assert stored.company_id == company.pk and stored.relayed_at is None


def test_an_unknown_type_is_refused(company):
    with pytest.raises(InvalidInput):
        record_event(company=company, type="invoice.paid", payload={})
    assert not Event.objects.exists()


def test_events_are_read_per_company_and_window(company, other_company):
    now = datetime.datetime(2026, 11, 27, 6, tzinfo=datetime.UTC)
    hour = datetime.timedelta(hours=1)
    early = record_event(company=company, type="change.held", payload={}, at=now - 2 * hour)
    late = record_event(company=company, type="change.held", payload={}, at=now)
    record_event(company=company, type="change.decided", payload={}, at=now)
    record_event(company=other_company, type="change.held", payload={}, at=now)
    window = events_between(company=company, types=["change.held"], after=now - hour, until=now)
    assert list(window) == [late]
    everything = events_between(company=company, types=["change.held"], after=None, until=now)
    assert list(everything) == [early, late]
