"""Paged reads always end: a hub that repeats a cursor, sends pages that bring nothing
new, or never stops paging gets a clear error instead of a read that loops forever."""

import threading
import uuid

import httpx
import pytest

from icb.hub import client as hub_client
from icb.hub import services
from icb.hub.client import HubClient
from icb.hub.errors import HubError
from icb.hub.models import HubConnection, Organization
from tests.clients import connect

pytestmark = pytest.mark.django_db


@pytest.fixture
def connected(hub, admin_client, company):
    connect(admin_client)
    return hub


def _bounded(read, hub, seconds=20):
    """Run a read in a thread; a read that has not ended after `seconds` fails the test
    (the faults are cleared first, which lets a looping read end)."""
    outcome: dict = {}

    def run():
        try:
            outcome["value"] = read()
        except Exception as exc:  # handed to the test
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        requests = hub.request_counts()
        hub.clear_faults()
        thread.join(30)
        pytest.fail(f"the read did not end within {seconds} s ({requests})")
    return outcome


def _new_organizations(hub, count: int) -> list[str]:
    """Organizations of this test alone at the hub (others may change the generated ones)."""
    ids = [f"paging-{uuid.uuid4().hex[:10]}" for _ in range(count)]
    for org_id in ids:
        hub.add_organization("rmm", "Paging Test Inc", id=org_id, quantities={"servers": "2"})
    return ids


def test_usage_read_stops_when_the_hub_repeats_a_cursor(connected, company):
    ids = _new_organizations(connected, 3)
    connected.set_fault(endpoint="usage", kind="repeat_cursor")
    connected.reset_request_counts()

    with services.hub_client(company) as api:  # the database is read in this thread
        outcome = _bounded(lambda: api.usage("rmm", ids, ["workstations", "servers"]), connected)
    error = outcome.get("error")
    assert isinstance(error, HubError), outcome
    assert error.message == (
        "Integration Hub kept answering the same page of usage; the read was stopped."
    )
    assert connected.request_counts()["usage"] == 2


def test_organizations_read_stops_when_the_hub_repeats_a_cursor(connected, company):
    before = Organization.objects.filter(company=company).count()
    connected.set_fault(endpoint="organizations", kind="repeat_cursor")
    with pytest.raises(HubError) as error:
        services.refresh_directory(company=company)
    assert error.value.message == (
        "Integration Hub kept answering the same page of organizations; the read was stopped."
    )
    assert "kept answering the same page" in HubConnection.objects.get(company=company).last_error
    assert Organization.objects.filter(company=company).count() == before


def test_a_page_answered_twice_then_the_last_page_is_no_loop(connected, company):
    """One cursor back to the same page, then the real answer (the rule used up): the
    read ends normally, with every quantity."""
    ids = _new_organizations(connected, 3)
    connected.set_fault(endpoint="usage", kind="repeat_cursor", count=1)
    with services.hub_client(company) as api:
        usage = api.usage("rmm", ids, ["workstations"])
    assert set(usage.quantities) == {(i, "workstations") for i in ids}


# --- hubs that page without end, without repeating a cursor (a scripted hub) ---------


def _scripted(settings, answer):
    settings.ICB_HUB_URL = "http://hub.test"
    settings.ICB_HUB_RETRY_BASE = 0
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        body = answer(len(calls))
        if len(calls) >= 100:  # a reader without a guard ends here, and the test fails
            body["next_cursor"] = None
        return httpx.Response(200, json=body)

    return HubClient("token", transport=httpx.MockTransport(handler), attempts=1), calls


def _usage_row(org="o1", billing_type="servers"):
    return {
        "organization_id": org,
        "billing_type": billing_type,
        "quantity": "3",
        "measured_at": "2026-11-26T04:00:00Z",
    }


def test_usage_pages_that_bring_nothing_new_are_stopped(settings):
    api, calls = _scripted(
        settings,
        lambda n: {"module": "rmm", "usage": [_usage_row()], "next_cursor": f"c{n}"},
    )
    with pytest.raises(HubError) as error:
        api.usage("rmm", ["o1", "o2"], ["servers"])
    assert "page of usage with nothing new" in error.value.message
    assert len(calls) == 2


def test_usage_that_promises_more_after_every_row_asked_for_is_stopped(settings):
    # Every page brings one new row, and promises more after the last one asked for.
    rows = [_usage_row(org, kind) for org in ("o1", "o2") for kind in ("servers", "desktops")]
    api, calls = _scripted(
        settings,
        lambda n: {
            "module": "rmm",
            "usage": [rows[n - 1]] if n <= len(rows) else [],
            "next_cursor": f"c{n}",
        },
    )
    with pytest.raises(HubError) as error:
        api.usage("rmm", ["o1", "o2"], ["servers", "desktops"])
    assert "page of usage with nothing new" in error.value.message
    assert len(calls) == 5  # 2 organizations x 2 billing types: 4 pages, and one too many


def test_organizations_cannot_take_endless_pages(settings, monkeypatch):
    monkeypatch.setattr(hub_client, "ORGANIZATION_PAGES_MAX", 5)
    api, calls = _scripted(
        settings,
        lambda n: {"organizations": [{"id": str(n), "name": f"Org {n}"}], "next_cursor": f"c{n}"},
    )
    with pytest.raises(HubError) as error:
        [org for page in api.organization_pages("rmm") for org in page]
    assert error.value.message == (
        "Integration Hub sent more pages of organizations than the request can have (5); "
        "the read was stopped."
    )
    assert len(calls) == 6


def test_an_empty_organizations_page_that_promises_more_is_stopped(settings):
    api, calls = _scripted(settings, lambda n: {"organizations": [], "next_cursor": f"c{n}"})
    with pytest.raises(HubError) as error:
        list(api.organization_pages("rmm"))
    assert "page of organizations with nothing new" in error.value.message
    assert len(calls) == 1
