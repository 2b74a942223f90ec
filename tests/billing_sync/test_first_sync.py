"""Turning Integrated Customer Billing on (a new service with a module and billing type,
or a service switched to ICB or to another module or billing type) syncs the service at
once, as Sync now does and bounded alike; the page and the API answer its result."""

import time
from decimal import Decimal

import pytest
from django.urls import reverse

from icb.billing_sync.models import SyncRun
from icb.billing_sync.services import enable_icb, sync_now
from icb.contracts.models import Service
from tests.clients import Api
from tests.factories import make_service

pytestmark = pytest.mark.django_db

RMM_WORKSTATIONS = {"module": "rmm", "billing_type": "workstations"}


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


@pytest.mark.usefixtures("auto_review")
def test_put_syncs_at_once(admin_client, contract, connected, orgs, account):
    orgs.mapped(account, workstations=6, servers=2)
    service = make_service(contract, "Workstations", units="1")
    api = Api(admin_client)
    body = api._call("put", f"/services/{service.pk}/icb", RMM_WORKSTATIONS).json()
    assert body["units"] == "6.00"
    assert body["icb"]["status"] == "ok" and body["icb"]["last_sync_at"]
    run = SyncRun.objects.get()
    assert (run.trigger, run.user.email, run.services_changed) == ("manual", "admin@acme.test", 1)

    # The same choice again: nothing new to sync.
    api._call("put", f"/services/{service.pk}/icb", RMM_WORKSTATIONS)
    assert SyncRun.objects.count() == 1
    # Another billing type: synced at once again.
    body = api._call(
        "put", f"/services/{service.pk}/icb", {"module": "rmm", "billing_type": "servers"}
    ).json()
    assert body["units"] == "2.00" and SyncRun.objects.count() == 2


def test_put_without_a_mapping_says_so(admin_client, contract, connected):
    service = make_service(contract, "Workstations", units="1")
    body = Api(admin_client)._call("put", f"/services/{service.pk}/icb", RMM_WORKSTATIONS).json()
    assert body["units"] == "1.00"
    assert body["icb"]["status"] == "mapping_incomplete"
    assert body["icb"]["message"] == "Mapping Settings Incomplete"


def test_put_is_bounded_like_sync_now(admin_client, contract, connected, orgs, account, settings):
    settings.ICB_MANUAL_SYNC_SECONDS = 1
    settings.ICB_HUB_TIMEOUT = 15
    orgs.mapped(account, workstations=6)
    connected.set_fault(endpoint="usage", kind="hang")
    service = make_service(contract, "Workstations", units="1")
    started = time.monotonic()
    response = Api(admin_client)._call("put", f"/services/{service.pk}/icb", RMM_WORKSTATIONS)
    assert time.monotonic() - started < 2.5
    body = response.json()
    assert body["billing_mode"] == "icb" and body["units"] == "1.00"
    assert body["icb"]["status"] == "error"
    assert "did not answer within 1 seconds" in body["icb"]["message"]
    service.refresh_from_db()
    assert service.sync_claim_token == "" and SyncRun.objects.get().finished_at


def test_adding_a_service_syncs_it_at_once(admin_client, contract, connected, orgs, account):
    orgs.mapped(account, workstations=23)
    response = admin_client.post(
        reverse("contracts:service_create", args=[contract.pk]),
        {
            "name": "Workstations",
            "unit_price": "45",
            "units": "1",
            "icb_module": "rmm",
            "icb_billing_type": "workstations",
        },
        follow=True,
    )
    assert _messages(response)[-2:] == [
        "Service “Workstations” was added.",
        "Synced: 23.00 units.",
    ]
    service = Service.objects.get(name="Workstations")
    assert (service.units, service.icb_status) == (Decimal("23.00"), "ok")
    assert service.last_sync_at is not None


def test_adding_a_service_without_a_mapping_says_so(admin_client, contract, connected):
    response = admin_client.post(
        reverse("contracts:service_create", args=[contract.pk]),
        {
            "name": "Workstations",
            "unit_price": "45",
            "units": "1",
            "icb_module": "rmm",
            "icb_billing_type": "workstations",
        },
        follow=True,
    )
    assert _messages(response)[-2:] == [
        "Service “Workstations” was added.",
        "Mapping Settings Incomplete: nothing to sync yet.",
    ]
    service = Service.objects.get(name="Workstations")
    assert (service.units, service.icb_status) == (Decimal("1.00"), "mapping_incomplete")


def test_adding_a_manual_service_syncs_nothing(admin_client, contract, connected):
    admin_client.post(
        reverse("contracts:service_create", args=[contract.pk]),
        {
            "name": "Hours",
            "unit_price": "45",
            "units": "3",
            "icb_module": "",
            "icb_billing_type": "",
        },
    )
    assert Service.objects.get(name="Hours").billing_mode == "manual"
    assert not SyncRun.objects.exists()


def test_switching_a_service_to_icb_syncs_it_at_once(
    admin_client, contract, connected, orgs, account, admin_user
):
    orgs.mapped(account, workstations=8)
    service = make_service(contract, "Workstations", units="1")
    url = reverse("contracts:service_detail", args=[contract.pk, service.pk])
    form = {
        "name": "Workstations",
        "unit_price": "45",
        "units": "1",
        "icb_module": "rmm",
        "icb_billing_type": "workstations",
    }
    response = admin_client.post(url, form, follow=True)
    assert _messages(response)[-2:] == ["The service was saved.", "Synced: 8.00 units."]
    service.refresh_from_db()
    assert (service.units, service.icb_status) == (Decimal("8.00"), "ok")

    # Saving it again with the same choice does not sync again.
    response = admin_client.post(url, {**form, "name": "Desktops"}, follow=True)
    assert _messages(response)[-1] == "The service was saved."
    assert SyncRun.objects.count() == 1


def test_a_service_synced_since_is_not_synced_on_save(
    admin_client, contract, connected, orgs, account, admin_user
):
    orgs.mapped(account, workstations=8)
    service = enable_icb(
        service=make_service(contract, "Workstations", units="1"),
        actor=admin_user,
        **RMM_WORKSTATIONS,
    )
    sync_now(service=service, actor=admin_user)
    url = reverse("contracts:service_detail", args=[contract.pk, service.pk])
    admin_client.post(
        url,
        {
            "name": "Renamed",
            "unit_price": "45",
            "units": "1",
            **{"icb_module": "rmm", "icb_billing_type": "workstations"},
        },
    )
    assert SyncRun.objects.count() == 1
