"""One submit names every invalid field: the services check all the fields of an input
at once, and a form that refused some fields still shows the service's messages for the
others; the service window marks each tab that holds an error."""

import re

import pytest
from django.urls import reverse

from icb.common.errors import InvalidInput
from icb.contracts import services
from icb.contracts.models import Contract, Service
from tests.factories import make_hub_connection, make_module

pytestmark = pytest.mark.django_db


def _errors_of(html: str) -> dict[str, str]:
    """{control id: its error text} of the fields the page marks invalid."""
    found = {}
    for match in re.finditer(r'<ul class="errorlist" id="([^"]+)_error">(.*?)</ul>', html, re.S):
        found[match.group(1)] = re.sub(r"<[^>]+>", " ", match.group(2)).strip()
    return found


def _tab(html: str, tab_id: str) -> str:
    match = re.search(rf'<button type="button" role="tab" id="{tab_id}"[^>]*>(.*?)</button>', html)
    assert match, tab_id
    return match.group(0)


def test_a_service_names_every_invalid_field_at_once(contract):
    with pytest.raises(InvalidInput) as refused:
        services.service_create(
            contract=contract, actor=None, name="", unit_price="abc", units="1.234"
        )
    assert set(refused.value.errors) == {"name", "unit_price", "units"}


def test_a_service_update_names_every_invalid_field_at_once(service):
    with pytest.raises(InvalidInput) as refused:
        services.service_update(service=service, actor=None, unit_price="-1", units="x", name="")
    assert set(refused.value.errors) == {"name", "unit_price", "units"}


def test_a_contract_names_every_invalid_field_at_once(company, account):
    with pytest.raises(InvalidInput) as refused:
        services.contract_create(
            company=company,
            actor=None,
            account_id="999999",
            name="",
            start_date="2026-13-01",
            billing_frequency="weekly",
            currency="XXX",
        )
    assert set(refused.value.errors) == {
        "account_id",
        "name",
        "start_date",
        "billing_frequency",
        "currency",
    }


def test_the_api_answers_every_invalid_field(admin_client, contract):
    response = admin_client.post(
        f"/api/v1/contracts/{contract.pk}/services",
        {"name": "", "unit_price": "abc", "units": "-2"},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"name", "unit_price", "units"}


def test_the_add_service_window_shows_every_error_and_marks_both_tabs(
    admin_client, company, contract
):
    make_hub_connection(company)
    make_module(company, "rmm", "RMM")
    response = admin_client.post(
        reverse("contracts:service_create", args=[contract.pk]),
        {"name": "", "unit_price": "abc", "units": "1.234", "icb_module": "rmm"},
    )
    html = response.content.decode()
    # the form refused the empty name; the service judged the numbers: all in one answer
    assert set(_errors_of(html)) == {"service-name", "service-unit_price", "service-units"}
    assert "“abc” is not a number" in _errors_of(html)["service-unit_price"]
    assert "Choose a billing type." in html  # the ICB tab's own error, in the same answer
    general, icb = _tab(html, "service-general-tab"), _tab(html, "icb-tab")
    assert 'class="has-error"' in general and "(has errors)" in general
    assert 'class="has-error"' in icb and "(has errors)" in icb
    assert 'aria-selected="true"' in general  # the window opens on the first tab in error
    assert not Service.objects.exists()


def test_a_clean_tab_is_not_marked(admin_client, contract):
    response = admin_client.post(
        reverse("contracts:service_create", args=[contract.pk]),
        {"name": "Backup", "unit_price": "abc", "units": "1"},
    )
    html = response.content.decode()
    assert set(_errors_of(html)) == {"service-unit_price"}
    assert "has-error" in _tab(html, "service-general-tab")
    assert "has-error" not in _tab(html, "icb-tab")


def test_the_service_page_shows_every_error(admin_client, contract, service):
    response = admin_client.post(
        reverse("contracts:service_detail", args=[contract.pk, service.pk]),
        {"name": "", "unit_price": "1.234", "units": "x"},
    )
    html = response.content.decode()
    assert set(_errors_of(html)) == {"service-name", "service-unit_price", "service-units"}
    assert "has-error" in _tab(html, "service-general-tab")


def test_the_new_contract_page_shows_every_error(admin_client, account):
    response = admin_client.post(
        reverse("contracts:create"),
        {
            "account_id": str(account.pk),
            "name": "",
            "start_date": "2026-05-01",
            "end_date": "2026-04-01",
            "billing_frequency": "monthly",
            "currency": "USD",
            "status": "active",
        },
    )
    errors = _errors_of(response.content.decode())
    assert set(errors) == {"contract-name", "contract-end_date"}
    assert "cannot be before the start date" in errors["contract-end_date"]
    assert not Contract.objects.exists()
