"""A contract's billing settings over the company's defaults, and a service's dates and
revenue account code: the API, the pages and the refusals (422 with field errors)."""

import datetime
import re

import pytest
from django.urls import reverse

from icb.contracts.models import Service
from icb.contracts.services import service_create
from icb.hub.models import Module

pytestmark = pytest.mark.django_db


def _contract_body(account, **overrides):
    body = {
        "account_id": account.pk,
        "name": "Backup Plan",
        "start_date": "2026-10-01",
        "billing_frequency": "monthly",
        "currency": "USD",
    }
    body.update(overrides)
    return body


def test_a_contract_without_settings_shows_the_companys_defaults(api, account, company):
    company.billing_timing, company.payment_terms_days = "arrears", 14
    company.save()
    data = api.post("/contracts", _contract_body(account)).json()
    assert (data["billing_timing"], data["proration"], data["payment_terms_days"]) == (
        "arrears",
        "daily",
        14,
    )
    assert data["overrides"] == {
        "billing_timing": None,
        "proration": None,
        "payment_terms_days": None,
    }


def test_a_contract_overrides_the_defaults_and_null_goes_back_to_them(api, account):
    body = _contract_body(
        account, billing_timing="arrears", proration="none", payment_terms_days=45
    )
    data = api.post("/contracts", body).json()
    assert (data["billing_timing"], data["proration"], data["payment_terms_days"]) == (
        "arrears",
        "none",
        45,
    )
    assert data["overrides"]["payment_terms_days"] == 45
    data = api.patch(
        f"/contracts/{data['id']}", {"billing_timing": None, "payment_terms_days": None}
    ).json()
    assert (data["billing_timing"], data["proration"], data["payment_terms_days"]) == (
        "advance",
        "none",
        30,
    )
    assert data["overrides"] == {
        "billing_timing": None,
        "proration": "none",
        "payment_terms_days": None,
    }


def test_bad_billing_settings_are_422_naming_each_field(api, account):
    body = _contract_body(
        account, billing_timing="later", proration="hourly", payment_terms_days=400
    )
    response = api.post("/contracts", body)
    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"billing_timing", "proration", "payment_terms_days"}


def test_the_contract_page_shows_the_settings_in_effect_and_saves_an_override(
    admin_client, contract
):
    url = reverse("contracts:detail", args=[contract.pk])
    html = admin_client.get(url).content.decode()
    assert "In advance (company default)" in html
    assert "Company default: Daily" in html
    form = {
        "account_id": contract.account_id,
        "name": contract.name,
        "start_date": "2026-01-01",
        "billing_frequency": "monthly",
        "currency": "USD",
        "status": "active",
        "billing_timing": "arrears",
        "proration": "",
        "payment_terms_days": "abc",
    }
    refused = admin_client.post(url, form).content.decode()
    assert "Payment terms: enter a number of days" in refused
    contract.refresh_from_db()
    assert contract.billing_timing is None  # nothing saved
    assert admin_client.post(url, {**form, "payment_terms_days": "15"}).status_code == 302
    contract.refresh_from_db()
    assert (contract.billing_timing, contract.proration, contract.payment_terms_days) == (
        "arrears",
        None,
        15,
    )
    assert "15 days" in admin_client.get(url).content.decode()


# --- services --------------------------------------------------------------------------


def test_a_service_starts_today_in_the_companys_zone_by_default(
    api, contract, company, monkeypatch
):
    # 02:00 UTC on 2026-11-27 is still the 26th in New York.
    moment = datetime.datetime(2026, 11, 27, 2, 0, tzinfo=datetime.UTC)
    monkeypatch.setattr("django.utils.timezone.now", lambda: moment)
    data = api.post(
        f"/contracts/{contract.pk}/services", {"name": "Backup", "unit_price": "3", "units": "10"}
    ).json()
    assert (data["start_date"], data["end_date"]) == ("2026-11-26", None)


def test_a_service_of_a_contract_still_to_come_starts_with_it(contract, company):
    contract.start_date = datetime.date(2099, 1, 1)
    contract.save()
    service = service_create(
        contract=contract, actor=None, name="Backup", unit_price="3", units="1"
    )
    assert service.start_date == datetime.date(2099, 1, 1)


def test_service_dates_are_checked_422(api, contract):
    url = f"/contracts/{contract.pk}/services"
    body = {"name": "Backup", "unit_price": "3", "units": "10", "start_date": "2025-12-31"}
    response = api.post(url, body)
    assert response.status_code == 422
    assert "before the contract's start (2026-01-01)" in response.json()["errors"]["start_date"][0]
    response = api.post(url, {**body, "start_date": "2026-03-01", "end_date": "2026-02-01"})
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["end_date"]
    assert not Service.objects.exists()
    data = api.post(url, {**body, "start_date": "2026-03-01", "end_date": "2026-06-30"}).json()
    assert (data["start_date"], data["end_date"]) == ("2026-03-01", "2026-06-30")
    assert api.patch(f"/services/{data['id']}", {"start_date": None}).status_code == 422


def test_the_revenue_account_code_falls_back_to_the_module_then_the_company(api, contract, company):
    company.revenue_account_code = "4000"
    company.save()
    data = api.post(
        f"/contracts/{contract.pk}/services", {"name": "RMM", "unit_price": "3", "units": "1"}
    ).json()
    assert (data["revenue_account_code"], data["overrides"]) == (
        "4000",
        {"revenue_account_code": ""},
    )
    module = Module.objects.create(
        company=company, code="rmm", name="RMM", revenue_account_code="4100"
    )
    Service.objects.filter(pk=data["id"]).update(icb_module=module)
    assert api.get(f"/services/{data['id']}").json()["revenue_account_code"] == "4100"
    data = api.patch(f"/services/{data['id']}", {"revenue_account_code": "4200"}).json()
    assert (data["revenue_account_code"], data["overrides"]) == (
        "4200",
        {"revenue_account_code": "4200"},
    )
    too_long = api.patch(f"/services/{data['id']}", {"revenue_account_code": "9" * 41})
    assert too_long.status_code == 422


def test_the_service_form_has_the_dates_and_shows_their_errors(admin_client, contract):
    url = reverse("contracts:service_create", args=[contract.pk])
    form = {"name": "Backup", "unit_price": "3", "units": "1", "start_date": "2025-06-01"}
    html = admin_client.post(url, form).content.decode()
    assert re.search(r"start date cannot be before the contract", html)
    assert not Service.objects.exists()
    assert admin_client.post(url, {**form, "start_date": "2026-02-01"}).status_code == 302
    assert Service.objects.get().start_date == datetime.date(2026, 2, 1)


def test_a_contract_cannot_start_after_its_services(api, contract):
    service_create(
        contract=contract,
        actor=None,
        name="Backup",
        unit_price="3",
        units="1",
        start_date="2026-02-01",
    )
    response = api.patch(f"/contracts/{contract.pk}", {"start_date": "2026-03-01"})
    assert response.status_code == 422
    assert "1 service(s) start before 2026-03-01" in response.json()["errors"]["start_date"][0]
    assert api.patch(f"/contracts/{contract.pk}", {"start_date": "2026-02-01"}).status_code == 200
