"""An ICB service can always go back to manual billing, whatever the state of the hub:
the stop icon and DELETE /api/v1/services/{id}/icb never need it, and the service's page
says why no next sync will come while the hub is disconnected."""

from decimal import Decimal

import httpx
import pytest
from django.urls import reverse

from icb.billing_sync.services import sync_now
from icb.contracts.models import Service
from icb.hub import services as hub_services
from icb.hub.crypto import decrypt
from icb.hub.models import HubConnection
from tests.clients import Api

pytestmark = pytest.mark.django_db


@pytest.fixture
def synced(icb_service, orgs, account, admin_user):
    orgs.mapped(account, workstations=12)
    service = sync_now(service=icb_service, actor=admin_user)
    assert service.units == Decimal("12.00")
    return service


def _disconnected(hub, company, settings):
    hub_services.disconnect(company=company)


def _broken(hub, company, settings):
    """The hub refuses the stored tokens (revoked there, and the access token expired)."""
    connection = HubConnection.objects.get(company=company)
    for field in ("refresh_token_encrypted", "access_token_encrypted"):
        httpx.post(
            f"{hub.url}/oauth/revoke",
            data={"token": decrypt(getattr(connection, field))},
            auth=("icb", "icb-sandbox-secret"),
        ).raise_for_status()


def _unreachable(hub, company, settings):
    from sandbox_hub.runner import free_port

    settings.ICB_HUB_URL = f"http://127.0.0.1:{free_port()}"


def _hanging(hub, company, settings):
    for endpoint in ("token", "usage", "modules", "organizations"):
        hub.set_fault(endpoint=endpoint, kind="hang")


HUB_STATES = [_disconnected, _broken, _unreachable, _hanging]


@pytest.mark.parametrize("hub_state", HUB_STATES, ids=lambda f: f.__name__.strip("_"))
def test_the_api_stops_icb_in_every_hub_state(
    synced, connected, company, settings, admin_client, hub_state
):
    hub_state(connected, company, settings)
    response = Api(admin_client).delete(f"/services/{synced.pk}/icb")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["billing_mode"], body["icb"], body["units"]) == ("manual", None, "12.00")
    changed = Api(admin_client).patch(f"/services/{synced.pk}", {"units": "13"})
    assert changed.json()["units"] == "13.00"


@pytest.mark.parametrize("hub_state", HUB_STATES, ids=lambda f: f.__name__.strip("_"))
def test_the_stop_icon_works_in_every_hub_state(
    synced, connected, company, settings, admin_client, hub_state
):
    hub_state(connected, company, settings)
    page = admin_client.get(
        reverse("contracts:service_detail", args=[synced.contract_id, synced.pk])
    )
    assert 'aria-label="Stop Integrated Customer Billing"' in page.content.decode()
    stop = reverse("billing_sync:service_stop", args=[synced.contract_id, synced.pk])
    response = admin_client.post(stop, follow=True)
    assert "billed manually again" in response.content.decode()
    assert Service.objects.get(pk=synced.pk).billing_mode == "manual"


def test_the_panel_says_why_no_next_sync_comes(synced, connected, company, admin_client):
    hub_services.disconnect(company=company)
    html = admin_client.get(
        reverse("contracts:service_detail", args=[synced.contract_id, synced.pk])
    ).content.decode()
    last = synced.last_sync_at.astimezone(company.zone).strftime("%Y-%m-%d %H:%M")
    last_sync = html.split("data-icb-last-sync>")[1].split("</dd>")[0]
    next_sync = html.split("data-icb-next-sync>")[1].split("</dd>")[0]
    assert last in last_sync
    assert next_sync == (
        'None while <a href="/admin/integrations/hub/">Integration Hub</a> is disconnected'
    )
    # No Sync now (it could only fail); Stop stays; the ICB tab says how to go back.
    assert 'aria-label="Sync now"' not in html
    assert 'aria-label="Stop Integrated Customer Billing"' in html
    assert (
        "This service is billed by Integrated Customer Billing (RMM · Desktop &amp; Laptop)" in html
    )


def test_while_connected_the_panel_shows_the_next_sync(synced, company, admin_client):
    html = admin_client.get(
        reverse("contracts:service_detail", args=[synced.contract_id, synced.pk])
    ).content.decode()
    next_sync = html.split("data-icb-next-sync>")[1].split("</dd>")[0]
    assert next_sync.startswith("<time") and 'aria-label="Sync now"' in html
