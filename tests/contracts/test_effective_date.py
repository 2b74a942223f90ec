"""A manual change of units takes an effective date (the day the new units count from):
today in the company's time zone by default, never in the future, never before the
contract's start; on the API and on the service page alike."""

import datetime

import pytest
from django.utils import timezone

from icb.contracts.models import ServiceUnitChange

pytestmark = pytest.mark.django_db


def today(company):
    return timezone.localdate(timezone.now(), company.zone)


def last_change(service):
    return ServiceUnitChange.objects.filter(service=service).order_by("-id").first()


def test_patch_units_with_an_effective_date(api, service, company):
    day = today(company) - datetime.timedelta(days=2)
    response = api.patch(f"/services/{service.pk}", {"units": "12", "effective_date": str(day)})
    assert response.status_code == 200, response.content
    change = last_change(service)
    assert (change.new_units, change.effective_date) == (12, day)
    history = api.get(f"/services/{service.pk}/history").json()
    assert history["items"][0]["effective_date"] == str(day)


def test_patch_units_without_a_date_is_effective_today(api, service, company):
    assert api.patch(f"/services/{service.pk}", {"units": "12"}).status_code == 200
    assert last_change(service).effective_date == today(company)


@pytest.mark.parametrize("day", ["2099-01-01", "2025-12-31"])
def test_a_future_date_or_one_before_the_contract_is_422_and_changes_nothing(api, service, day):
    response = api.patch(f"/services/{service.pk}", {"units": "12", "effective_date": day})
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["effective_date"]
    service.refresh_from_db()
    assert service.units == 10


def test_the_service_page_takes_the_effective_date(admin_client, service, company):
    day = today(company) - datetime.timedelta(days=1)
    url = f"/finance/contracts/{service.contract_id}/services/{service.pk}/"
    page = admin_client.get(url)
    assert b"Effective from" in page.content
    response = admin_client.post(
        url,
        {
            "name": service.name,
            "unit_price": "45.00",
            "units": "11",
            "description": "",
            "effective_date": str(day),
        },
    )
    assert response.status_code == 302
    assert last_change(service).effective_date == day
    refused = admin_client.post(
        url,
        {"name": service.name, "unit_price": "45.00", "units": "13", "effective_date": "2099-1-1"},
    )
    assert refused.status_code == 200 and b"effective" in refused.content.lower()
    service.refresh_from_db()
    assert service.units == 11
