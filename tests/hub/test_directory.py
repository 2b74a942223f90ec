import re

import pytest
from django.test import Client

from icb.hub import services
from icb.hub.errors import HubError
from icb.hub.models import HubConnection, Module, Organization
from tests.clients import connect
from tests.factories import make_role, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def connected(hub, admin_client, company):
    connect(admin_client)
    return hub


def test_parents_children_and_removed_organizations(connected, company, admin_client):
    rmm = Module.objects.get(company=company, code="rmm")
    children = Organization.objects.filter(module=rmm).exclude(parent_external_id="")
    assert children.exists()
    child = children.first()
    assert Organization.objects.filter(module=rmm, external_id=child.parent_external_id).exists()

    connected.remove_organization("rmm", child.external_id)
    added = connected.add_organization(module="rmm", name="Zephyr Analytics Inc")
    services.refresh_directory(company=company)
    child.refresh_from_db()
    assert child.removed_at is not None  # kept, flagged
    assert Organization.objects.get(module=rmm, external_id=added["id"]).removed_at is None

    api = admin_client.get(f"/api/v1/modules/rmm/organizations?search={child.external_id}").json()
    assert api["items"][0]["removed"] is True


def test_refresh_under_faults_keeps_the_old_directory(connected, company, admin_client):
    before = set(Organization.objects.filter(company=company).values_list("external_id", "name"))
    connected.set_fault(endpoint="organizations", kind="error", status=503)
    with pytest.raises(HubError) as exc:
        services.refresh_directory(company=company)
    assert "internal error (503)" in exc.value.message
    connected.clear_faults()
    connected.set_fault(endpoint="organizations", kind="truncated")
    response = admin_client.post("/api/v1/hub/refresh")
    assert response.status_code == 502 and "not valid JSON" in response.json()["detail"]
    assert response.json()["code"] == "hub_unavailable"
    after = set(Organization.objects.filter(company=company).values_list("external_id", "name"))
    assert after == before
    assert "not valid JSON" in HubConnection.objects.get(company=company).last_error


def test_transient_fault_is_retried(connected, company):
    connected.set_fault(endpoint="modules", kind="rate_limit", retry_after=0, count=2)
    counts = services.refresh_directory(company=company)
    assert counts["rmm"]["organizations"] >= 30
    assert HubConnection.objects.get(company=company).last_error == ""


def test_malformed_answer_is_an_error_not_data(connected, company):
    connected.set_fault(endpoint="modules", kind="malformed")
    with pytest.raises(HubError):
        services.refresh_directory(company=company)
    assert Module.objects.filter(company=company).count() >= 6


def test_modules_and_organization_search_api(connected, company, admin_client):
    modules = admin_client.get("/api/v1/modules").json()
    codes = {m["code"] for m in modules}
    assert {"rmm", "backup"} <= codes
    rmm = next(m for m in modules if m["code"] == "rmm")
    assert {"code": "workstations"}.items() <= next(
        b for b in rmm["billing_types"] if b["code"] == "workstations"
    ).items()
    first = admin_client.get("/api/v1/modules/rmm/organizations?limit=10").json()
    assert len(first["items"]) == 10 and first["next_cursor"]
    second = admin_client.get(
        f"/api/v1/modules/rmm/organizations?limit=10&cursor={first['next_cursor']}"
    ).json()
    assert not {o["id"] for o in first["items"]} & {o["id"] for o in second["items"]}
    name = first["items"][0]["name"]
    found = admin_client.get(f"/api/v1/modules/rmm/organizations?search={name[:6]}").json()
    assert any(o["name"] == name for o in found["items"])
    parent = (
        Organization.objects.filter(module__code="rmm", company=company)
        .exclude(parent_external_id="")
        .first()
        .parent_external_id
    )
    kids = admin_client.get(f"/api/v1/modules/rmm/organizations?parent={parent}").json()
    assert kids["items"] and all(o["parent_id"] == parent for o in kids["items"])
    assert admin_client.get("/api/v1/modules/nope/organizations").status_code == 404
    bad = admin_client.get("/api/v1/modules/rmm/organizations?cursor=%%%")
    assert bad.status_code == 422 and "cursor" in bad.json()["errors"]


def test_directory_is_company_scoped(connected, company, other_company):
    outsider = make_user(other_company, "x@rival.test")
    client = Client()
    client.force_login(outsider)
    assert client.get("/api/v1/modules").json() == []
    assert client.get("/api/v1/modules/rmm/organizations").status_code == 404


def test_directory_needs_a_reading_role(connected, company):
    nobody = make_user(company, "n@acme.test", make_role(company, "Nothing"))
    client = Client()
    client.force_login(nobody)
    assert client.get("/api/v1/modules").status_code == 403


def test_hub_state_api(connected, admin_client):
    state = admin_client.get("/api/v1/hub").json()
    assert state["connected"] is True and state["hub_name"] == "Integration Hub"
    assert state["last_directory_refresh"] and state["connected_by"] == "admin@acme.test"
    assert admin_client.post("/api/v1/hub/disconnect").json()["connected"] is False


def test_the_hub_page_counts_each_modules_present_and_removed_organizations(
    connected, company, admin_client
):
    rmm = Module.objects.get(company=company, code="rmm")
    present = Organization.objects.filter(module=rmm, removed_at__isnull=True).count()
    two = list(Organization.objects.filter(module=rmm).values_list("pk", flat=True)[:2])
    Organization.objects.filter(pk__in=two).update(removed_at="2026-03-01T00:00:00Z")
    html = admin_client.get("/admin/integrations/hub/").content.decode()
    row = re.search(r"<tr>(?:(?!</tr>).)*>rmm</span>(?:(?!</tr>).)*</tr>", html, re.S)
    assert row, "no rmm row"
    cell = re.findall(r'<td class="num">(.*?)</td>', row.group(0), re.S)[-1]
    assert " ".join(re.sub(r"<[^>]+>", " ", cell).split()) == f"{present - 2} 2 removed"
