"""A service deleted by another request while this one works on it: this request
answers 404 ("it is gone"), never 500, and writes nothing. The other request's delete is
made to land exactly between this request's read of the service and its write."""

import json

import pytest

from icb.contracts import selectors
from icb.contracts.models import Service, ServiceUnitChange


@pytest.fixture
def deleted_after_read(monkeypatch):
    """Every service read by a request is deleted (as by another request) right after
    this request has read it."""
    read = selectors.service_get

    def read_then_lose(**kwargs):
        service = read(**kwargs)
        # As the delete of a service that has only its creation row (the history of
        # one with more cannot be deleted).
        ServiceUnitChange.objects.filter(service_id=service.pk).delete()
        Service.objects.filter(pk=service.pk).delete()
        return service

    monkeypatch.setattr(selectors, "service_get", read_then_lose)


ROUTES = [
    ("patch", "/api/v1/services/{id}", {"units": "12"}),
    ("patch", "/api/v1/services/{id}", {"name": "Renamed"}),
    ("put", "/api/v1/services/{id}/icb", {"module": "rmm", "billing_type": "workstations"}),
    ("delete", "/api/v1/services/{id}/icb", None),
    ("post", "/api/v1/services/{id}/sync", None),
    ("delete", "/api/v1/services/{id}", None),
]


@pytest.mark.parametrize("method, url, body", ROUTES)
def test_an_api_call_on_a_service_deleted_meanwhile_is_a_404(
    admin_client, icb_service, deleted_after_read, method, url, body
):
    if method == "patch" and "units" in body:
        Service.objects.filter(pk=icb_service.pk).update(billing_mode="manual")
    response = getattr(admin_client, method)(
        url.format(id=icb_service.pk),
        json.dumps(body) if body is not None else None,
        content_type="application/json",
    )
    assert response.status_code == 404, response.content[:300]
    assert not Service.objects.filter(pk=icb_service.pk).exists()
    assert not ServiceUnitChange.objects.filter(service_id=icb_service.pk).exists()


def test_saving_the_service_window_of_a_service_deleted_meanwhile_is_a_404(
    admin_client, icb_service, deleted_after_read
):
    Service.objects.filter(pk=icb_service.pk).update(billing_mode="manual")
    response = admin_client.post(
        f"/finance/contracts/{icb_service.contract_id}/services/{icb_service.pk}/",
        {"name": "Renamed", "unit_price": "45.00", "units": "12", "description": ""},
    )
    assert response.status_code == 404
    assert not Service.objects.filter(pk=icb_service.pk).exists()
