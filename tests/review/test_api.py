"""/api/v1 Billing review: held changes listed, decided one by one and in bulk; the
review policy. Decisions and their refusals; the route walk covers the permissions."""

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from icb.billing_sync.models import HeldChange, ReviewPolicyChange
from icb.billing_sync.services import stop_icb
from icb.contracts.models import Service, ServiceUnitChange
from tests.clients import Api
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(admin_client):
    return Api(admin_client)


@pytest.fixture
def finance(company):
    client = Client()
    client.force_login(make_user(company, "finance@acme.test", role="Finance"))
    return Api(client)


def test_list_answers_the_held_changes_with_breakdown_and_totals(api, synced):
    held = synced.hold(0)
    body = api.get("/held-changes").json()
    assert body["count"] == 1 and body["decreases"] == {"USD": "-2250.00"}
    assert body["increases"] == {}
    [item] = body["items"]
    assert {k: item[k] for k in ("id", "service_id", "current_units", "proposed_units")} == {
        "id": held.pk,
        "service_id": synced.service.pk,
        "current_units": "50.00",
        "proposed_units": "0.00",
    }
    assert (item["rule"], item["status"], item["monthly_impact"]) == (
        "drop_to_zero",
        "pending",
        "-2250.00",
    )
    assert item["breakdown"]["organizations"][0]["organization_id"] == synced.org.external_id
    assert api.get("/held-changes", direction="up").json()["count"] == 0
    assert api.get("/held-changes", rule="drop_percent").json()["count"] == 0
    assert api.get("/held-changes", module="rmm").json()["count"] == 1
    refused = api.get("/held-changes", direction="sideways")
    assert refused.status_code == 422 and "direction" in str(refused.json()["errors"])


def test_approve_with_an_effective_date_then_a_second_decision_is_409(api, synced, company):
    held = synced.hold(0)
    day = timezone.localdate(timezone.now(), company.zone) - datetime.timedelta(days=1)
    response = api.post(f"/held-changes/{held.pk}/approve", {"effective_date": str(day)})
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["effective_date"]) == ("approved", str(day))
    assert Service.objects.get(pk=synced.service.pk).units == 0
    again = api.post(f"/held-changes/{held.pk}/dismiss", {})
    assert again.status_code == 409 and again.json()["code"] == "already_decided"
    assert "already approved by admin@acme.test" in again.json()["detail"]


def test_approve_in_the_future_is_422_and_changes_nothing(api, synced):
    held = synced.hold(0)
    response = api.post(f"/held-changes/{held.pk}/approve", {"effective_date": "2099-01-01"})
    assert response.status_code == 422 and list(response.json()["errors"]) == ["effective_date"]
    assert HeldChange.objects.get(pk=held.pk).status == "pending"


def test_dismiss_and_adjust(api, synced):
    held = synced.hold(0)
    response = api.post(f"/held-changes/{held.pk}/dismiss", {"reason": "Agent outage"})
    assert (response.json()["status"], response.json()["note"]) == ("dismissed", "Agent outage")
    held = synced.hold(4)
    refused = api.post(f"/held-changes/{held.pk}/adjust", {"units": "1E1", "note": ""})
    assert refused.status_code == 422 and set(refused.json()["errors"]) == {"units", "note"}
    response = api.post(f"/held-changes/{held.pk}/adjust", {"units": "30", "note": "Two sites"})
    assert response.json()["decided_units"] == "30.00"
    assert ServiceUnitChange.objects.filter(service=synced.service, source="adjusted").count() == 1


def test_approving_a_service_back_on_manual_billing_is_409(api, synced, admin_user):
    held = synced.hold(0)
    stop_icb(service=synced.service, actor=admin_user)
    response = api.post(f"/held-changes/{held.pk}/approve", {})
    assert response.status_code == 409 and response.json()["code"] == "not_synced"
    assert "manual billing" in response.json()["detail"]


def test_bulk_by_ids_and_by_filter(api, synced):
    held = synced.hold(0)
    response = api.post("/held-changes/bulk", {"action": "approve", "ids": [held.pk, held.pk]})
    assert response.json() == {"decided": [held.pk], "skipped": []}
    assert Service.objects.get(pk=synced.service.pk).units == 0


def test_bulk_by_filter_and_its_refusals(api, synced):
    held = synced.hold(0)
    response = api.post("/held-changes/bulk", {"action": "dismiss", "filter": {"module": "nope"}})
    assert response.json() == {"decided": [], "skipped": []}
    response = api.post(
        "/held-changes/bulk",
        {"action": "dismiss", "filter": {"direction": "down"}, "reason": "Outage"},
    )
    assert response.json()["decided"] == [held.pk]
    both = api.post("/held-changes/bulk", {"action": "dismiss", "ids": [], "filter": {}})
    assert both.status_code == 422
    unknown = api.post("/held-changes/bulk", {"action": "approve", "ids": [999999]})
    assert unknown.status_code == 422 and list(unknown.json()["errors"]) == ["ids"]


def test_policy_read_by_finance_changed_by_administrators(api, finance, company):
    policy = finance.get("/review-policy").json()
    assert policy["mode"] == "hold_unusual" and policy["hold_drop_percent"] == 50
    new = {**policy, "mode": "hold_all"}
    assert finance._call("put", "/review-policy", new).status_code == 403
    response = api._call("put", "/review-policy", new)
    assert response.status_code == 200 and response.json()["mode"] == "hold_all"
    assert ReviewPolicyChange.objects.get(company=company).new["mode"] == "hold_all"
    bad = api._call("put", "/review-policy", {**policy, "max_units": -1, "modules": {"x": {}}})
    assert bad.status_code == 422
