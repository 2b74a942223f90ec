"""History outlives what it explains: a service whose units changed is ended, never
deleted (409 on the API and the page, RESTRICT in the database); one entered by mistake
and never changed can still be deleted."""

import datetime

import pytest
from django.db import transaction
from django.db.models import ProtectedError, RestrictedError
from django.urls import reverse

from icb.contracts.models import Service, ServiceUnitChange
from icb.contracts.services import service_update
from icb.crm.models import Account

pytestmark = pytest.mark.django_db


@pytest.fixture
def changed(service, admin_user):
    return service_update(service=service, actor=admin_user, units="12")


def test_a_service_never_changed_is_deleted_with_its_creation_row(api, service):
    assert api.delete(f"/services/{service.pk}").status_code == 204
    assert not Service.objects.filter(pk=service.pk).exists()
    assert not ServiceUnitChange.objects.exists()


def test_the_api_refuses_deleting_a_service_with_history_409(api, changed):
    response = api.delete(f"/services/{changed.pk}")
    assert response.status_code == 409
    assert response.json()["code"] == "has_history"
    assert "End it instead" in response.json()["detail"]
    assert ServiceUnitChange.objects.filter(service=changed).count() == 2


def test_the_database_refuses_too(changed):
    with pytest.raises(RestrictedError), transaction.atomic():
        Service.objects.filter(pk=changed.pk).delete()
    assert Service.objects.filter(pk=changed.pk).exists()


def test_the_page_offers_end_service_instead_of_delete(admin_client, contract, changed):
    page = reverse("contracts:service_detail", args=[contract.pk, changed.pk])
    html = admin_client.get(page).content.decode()
    assert "End service" in html
    assert reverse("contracts:service_delete", args=[contract.pk, changed.pk]) not in html

    # A delete posted anyway (an old tab) is the 409 page with the reason.
    response = admin_client.post(
        reverse("contracts:service_delete", args=[contract.pk, changed.pk])
    )
    assert response.status_code == 409
    assert "cannot be deleted" in response.content.decode()

    end = reverse("contracts:service_end", args=[contract.pk, changed.pk])
    assert admin_client.post(end, {"end_date": "2025-01-01"}).status_code == 302
    changed.refresh_from_db()
    assert changed.end_date is None  # before its start: refused, nothing changed
    assert "cannot be before the start date" in admin_client.get(page).content.decode()
    assert admin_client.post(end, {"end_date": "2026-12-31"}).status_code == 302
    changed.refresh_from_db()
    assert changed.end_date == datetime.date(2026, 12, 31)
    assert "End service" not in admin_client.get(page).content.decode()


def test_the_page_still_deletes_a_service_never_changed(admin_client, contract, service):
    page = reverse("contracts:service_detail", args=[contract.pk, service.pk])
    assert "End service" not in admin_client.get(page).content.decode()
    response = admin_client.post(
        reverse("contracts:service_delete", args=[contract.pk, service.pk])
    )
    assert response.status_code == 302
    assert not Service.objects.exists()


def test_an_account_with_contracts_cannot_be_deleted(contract):
    with pytest.raises(ProtectedError), transaction.atomic():
        Account.objects.filter(pk=contract.account_id).delete()
