"""The quantities behind a synced number: a sync's row of the unit history and its run's
changed service show each mapped organization (name from the directory, parent,
quantity, measured-at in the company's zone) and the total, the new units; the API
answers the same breakdown, structured. Read in a bounded number of queries."""

import html
import re
from datetime import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from icb.billing_sync.models import SyncRun, SyncRunItem
from icb.billing_sync.selectors import sync_breakdowns
from icb.billing_sync.services import sync_now
from icb.common.money import to_cents
from icb.contracts.models import ServiceUnitChange
from icb.hub.models import BillingType, Organization
from icb.mapping.models import Mapping
from tests.clients import Api
from tests.factories import make_module, make_org, make_service

pytestmark = pytest.mark.django_db


def html_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return html.unescape(response.content.decode())


def service_url(service):
    return reverse("contracts:service_detail", args=[service.contract_id, service.pk])


def text_of(fragment: str) -> str:
    """The visible text of an HTML fragment, whitespace collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", fragment).split())


def breakdowns_in(page: str) -> list[str]:
    return re.findall(r'<details class="breakdown".*?</details>', page, re.S)


def rows_of(breakdown: str) -> list[str]:
    """Each organization's row as text, then the total row."""
    body = re.search(r"<tbody>(.*?)</tbody>", breakdown, re.S).group(1)
    foot = re.search(r"<tfoot>(.*?)</tfoot>", breakdown, re.S).group(1)
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    return [text_of(row) for row in rows] + [text_of(foot)]


@pytest.fixture
def synced(company, account, orgs, icb_service, admin_user):
    """A service synced from a parent (100 workstations) and its site (9): 109.00."""
    company.time_zone = "Asia/Tokyo"  # far from UTC: a UTC time shown would differ
    company.save()
    parent = orgs.mapped(account, name="Harbor Dental Group, Inc.", workstations=100)
    site = orgs.mapped(account, name="HARBOR DENTAL – Boston Office", parent=parent, workstations=9)
    service = sync_now(service=icb_service, actor=admin_user)
    assert service.units == Decimal("109.00")
    change = ServiceUnitChange.objects.get(service=service, source="sync")
    return service, change, parent, site


def _local(change, organization, company) -> str:
    """The stored measured-at of an organization, as the page should show it."""
    moment = datetime.fromisoformat(change.detail["measured_at"][organization.external_id])
    return f"{moment.astimezone(company.zone):%Y-%m-%d %H:%M}"


def test_the_history_row_of_a_sync_expands_to_the_quantities_behind_it(
    admin_client, company, synced
):
    service, change, parent, site = synced
    page = html_of(admin_client.get(service_url(service)))
    [breakdown] = breakdowns_in(page)
    assert "<details" in breakdown and " open" not in breakdown.split(">")[0]  # collapsed
    summary = text_of(re.search(r"<summary>(.*?)</summary>", breakdown, re.S).group(1))
    assert summary == "Quantities behind 109.00 from 2 organizations · RMM › Desktop & Laptop"
    assert rows_of(breakdown) == [
        f"Harbor Dental Group, Inc. {parent.external_id} — 100.00 "
        f"{_local(change, parent, company)} JST",
        f"HARBOR DENTAL – Boston Office {site.external_id} Harbor Dental Group, Inc. 9.00 "
        f"{_local(change, site, company)} JST",
        "Total = new units 109.00",
    ]
    assert "Measured at (Asia/Tokyo)" in breakdown
    run = reverse("billing_sync:run_detail", args=[change.sync_run_id])
    assert f'(<a href="{run}">run #{change.sync_run_id}</a>)' in page


def test_the_run_page_shows_old_new_and_the_same_breakdown(admin_client, company, synced):
    service, change, parent, site = synced
    page = html_of(admin_client.get(reverse("billing_sync:run_detail", args=[change.sync_run_id])))
    entry = re.search(r'<tbody class="run-entry">(.*?)</tbody>\s*(?=<tbody|</table>)', page, re.S)
    row = text_of(re.search(r"<tr>(.*?)</tr>", entry.group(1), re.S).group(1))
    assert row == "Managed Workstations Harbor Dental Group Units changed 10.00 109.00"
    [breakdown] = breakdowns_in(page)
    history = breakdowns_in(html_of(admin_client.get(service_url(service))))
    assert breakdown == history[0]  # one partial for both pages


def test_an_organization_gone_from_the_directory_still_shows_its_id(admin_client, company, synced):
    service, change, parent, site = synced
    Mapping.objects.filter(organization=site).delete()
    Organization.objects.filter(pk=site.pk).delete()
    Organization.objects.filter(pk=parent.pk).update(removed_at=change.changed_at)
    [breakdown] = breakdowns_in(html_of(admin_client.get(service_url(service))))
    rows = rows_of(breakdown)
    assert rows[0].startswith(
        f"Harbor Dental Group, Inc. removed at the hub {parent.external_id} — 100.00"
    )
    assert rows[1].startswith(f"{site.external_id} (no longer in the directory) — 9.00")
    assert rows[2] == "Total = new units 109.00"


def test_the_api_answers_the_breakdown_structured(admin_user, company, synced):
    service, change, parent, site = synced
    client = Client()
    client.force_login(admin_user)
    api = Api(client)

    def measured(org):
        value = change.detail["measured_at"][org.external_id]
        return datetime.fromisoformat(value)

    [newest] = [c for c in api.get(f"/services/{service.pk}/history").json()["items"][:1]]
    breakdown = newest["breakdown"]
    for line in breakdown["organizations"]:
        assert datetime.fromisoformat(line.pop("measured_at")) == measured(
            parent if line["organization_id"] == parent.external_id else site
        )
    assert breakdown == {
        "module": "rmm",
        "module_name": "RMM",
        "billing_type": "workstations",
        "billing_type_name": "Desktop & Laptop",
        "unit": "device",
        "organizations": [
            {
                "organization_id": parent.external_id,
                "name": "Harbor Dental Group, Inc.",
                "removed": False,
                "parent_id": None,
                "parent_name": None,
                "quantity": "100.00",
            },
            {
                "organization_id": site.external_id,
                "name": "HARBOR DENTAL – Boston Office",
                "removed": False,
                "parent_id": parent.external_id,
                "parent_name": "Harbor Dental Group, Inc.",
                "quantity": "9.00",
            },
        ],
        "total": "109.00",
    }
    created = api.get(f"/services/{service.pk}/history").json()["items"][-1]
    assert created["source"] == "created" and created["breakdown"] is None

    [item] = api.get(f"/sync-runs/{change.sync_run_id}/services").json()["items"]
    assert item["new_units"] == "109.00"
    assert item["breakdown"] == newest["breakdown"] | {
        "organizations": [
            o | {"measured_at": item["breakdown"]["organizations"][i]["measured_at"]}
            for i, o in enumerate(breakdown["organizations"])
        ]
    }
    run = api.get(f"/sync-runs/{change.sync_run_id}").json()
    assert run["items"][0]["breakdown"] == item["breakdown"]


# --- the reading itself, without a hub ----------------------------------------------


@pytest.fixture
def directory(company):
    module = make_module(company, "rmm", "RMM")
    BillingType.objects.create(module=module, code="seats", name="Seats", unit="seat")
    return module


def _sync_change(service, run, quantities, measured=None, new_units=None):
    if new_units is None:
        new_units = to_cents(sum((Decimal(q) for q in quantities.values()), Decimal(0)))
    return ServiceUnitChange.objects.create(
        company=service.company,
        service=service,
        old_units=Decimal("1.00"),
        new_units=new_units,
        source="sync",
        sync_run_id=run.pk,
        detail={
            "module": "rmm",
            "billing_type": "seats",
            "quantities": quantities,
            "measured_at": measured or {},
        },
    )


def test_quantities_keep_their_places_and_a_rounded_total_says_so(company, contract, directory):
    make_org(directory, "1", "Alpha")
    service = make_service(contract)
    run = SyncRun.objects.create(company=company, trigger="manual")
    change = _sync_change(service, run, {"1": "2.125", "2": "1"})
    [breakdown] = sync_breakdowns(company=company, changes=[change]).values()
    assert [line.quantity_shown for line in breakdown.organizations] == ["2.125", "1.00"]
    assert (breakdown.exact_total, breakdown.total, breakdown.rounded) == (
        Decimal("3.125"),
        Decimal("3.13"),
        True,
    )
    assert breakdown.matches
    # Named organizations first; those gone from the directory after them.
    assert [line.name for line in breakdown.organizations] == ["Alpha", None]


def test_children_follow_their_parent(company, contract, directory):
    make_org(directory, "p", "Zeta Holdings")
    make_org(directory, "c1", "Acme Site", parent="p")
    make_org(directory, "o", "Midway Corp")
    service = make_service(contract)
    run = SyncRun.objects.create(company=company, trigger="manual")
    change = _sync_change(service, run, {"c1": "1", "o": "2", "p": "3"})
    [breakdown] = sync_breakdowns(company=company, changes=[change]).values()
    assert [line.name for line in breakdown.organizations] == [
        "Midway Corp",
        "Zeta Holdings",
        "Acme Site",
    ]
    assert breakdown.organizations[2].parent_name == "Zeta Holdings"


def test_rows_without_a_usable_detail_have_no_breakdown(company, contract, directory):
    service = make_service(contract)
    run = SyncRun.objects.create(company=company, trigger="manual")
    bare = ServiceUnitChange.objects.create(
        company=company, service=service, new_units=3, source="sync", sync_run_id=run.pk
    )
    broken = _sync_change(service, run, {"1": "lots"}, new_units=Decimal(3))
    user = ServiceUnitChange.objects.create(
        company=company, service=service, new_units=4, source="user", detail={"x": 1}
    )
    assert sync_breakdowns(company=company, changes=[bare, broken, user]) == {}


def test_a_total_that_differs_from_the_units_is_flagged(admin_client, company, contract, directory):
    make_org(directory, "1", "Alpha")
    service = make_service(contract)
    run = SyncRun.objects.create(company=company, trigger="manual")
    _sync_change(service, run, {"1": "5"}, new_units=Decimal("6.00"))
    [breakdown] = breakdowns_in(html_of(admin_client.get(service_url(service))))
    assert rows_of(breakdown)[-1] == "Total 5.00"
    assert "The quantities add up to 5.00, not 6.00." in breakdown


def test_another_companys_directory_never_names_an_organization(
    company, other_company, contract, directory
):
    theirs = make_module(other_company, "rmm", "RMM")
    make_org(theirs, "1", "Their customer")
    service = make_service(contract)
    run = SyncRun.objects.create(company=company, trigger="manual")
    change = _sync_change(service, run, {"1": "5"})
    [breakdown] = sync_breakdowns(company=company, changes=[change]).values()
    assert breakdown.organizations[0].name is None


# --- queries: a page costs the same for 2 sync rows as for 20 ------------------------


def _fill(company, contract, directory, count, *, start=0):
    service = contract.services.first() or make_service(contract)
    run = SyncRun.objects.first() or SyncRun.objects.create(company=company, trigger="nightly")
    for i in range(start, start + count):
        make_org(directory, f"p{i}", f"Parent {i}")
        make_org(directory, f"c{i}", f"Child {i}", parent=f"p{i}")
        _sync_change(
            service,
            run,
            {f"p{i}": "3", f"c{i}": "4", f"gone{i}": "1"},
            {f"p{i}": "2026-01-05T04:00:00+00:00"},
        )
    return service, run


def _count(client, url) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response.content.decode()


@pytest.mark.parametrize(
    "where",
    ["history_page", "history_api", "run_page", "run_services_api", "run_api"],
)
def test_breakdown_queries_do_not_grow_with_rows(admin_client, company, contract, directory, where):
    service, run = _fill(company, contract, directory, 2)
    url = {
        "history_page": service_url(service),
        "history_api": f"/api/v1/services/{service.pk}/history",
        "run_page": reverse("billing_sync:run_detail", args=[run.pk]),
        "run_services_api": f"/api/v1/sync-runs/{run.pk}/services",
        "run_api": f"/api/v1/sync-runs/{run.pk}",
    }[where]
    few, body = _count(admin_client, url)
    assert body.count("Child 1") >= 1
    _fill(company, contract, directory, 18, start=2)
    many, body = _count(admin_client, url)
    assert body.count("Child 19") >= 1  # the new rows are on the page, named
    assert many == few


def test_the_breakdowns_of_a_page_cost_two_queries(admin_client, company, contract, directory):
    """The same page with its rows not made by a sync (nothing to break down), then as
    they are: the organizations and the billing types, once for the page."""
    service, _ = _fill(company, contract, directory, 20)
    synced = list(ServiceUnitChange.objects.filter(source="sync").values_list("pk", flat=True))
    ServiceUnitChange.objects.filter(pk__in=synced).update(source="user")
    plain, body = _count(admin_client, service_url(service))
    assert "Child 1" not in body
    ServiceUnitChange.objects.filter(pk__in=synced).update(source="sync")
    explained, body = _count(admin_client, service_url(service))
    assert body.count('<details class="breakdown"') == 20
    assert explained == plain + 2


def test_a_measured_at_without_a_zone_is_utc(company, contract, directory):
    service = make_service(contract)
    run = SyncRun.objects.create(company=company, trigger="manual")
    change = _sync_change(service, run, {"1": "1"}, {"1": "2026-01-05T04:00:00"})
    [breakdown] = sync_breakdowns(company=company, changes=[change]).values()
    assert breakdown.organizations[0].measured_at.utcoffset().total_seconds() == 0


def test_a_failed_service_of_a_run_has_no_breakdown(admin_client, company, contract, directory):
    service = make_service(contract)
    run = SyncRun.objects.create(company=company, trigger="manual")
    SyncRunItem.objects.create(
        run=run, company=company, service=service, status="error", message="Hub refused."
    )
    [item] = admin_client.get(f"/api/v1/sync-runs/{run.pk}/services").json()["items"]
    assert (item["status"], item["breakdown"]) == ("error", None)
    assert (
        breakdowns_in(html_of(admin_client.get(reverse("billing_sync:run_detail", args=[run.pk]))))
        == []
    )


def test_the_same_organization_id_in_two_modules_is_named_from_its_own(
    company, contract, directory
):
    """The directory is read by module: an id the hub gives in two modules is named from
    the change's module; a module without billing types still names its organizations."""
    backup = make_module(company, "backup", "Backup")
    make_org(directory, "7", "Harbor (RMM)")
    make_org(backup, "7", "Harbor (Backup)")
    service = make_service(contract)
    run = SyncRun.objects.create(company=company, trigger="nightly")
    rmm_change = _sync_change(service, run, {"7": "2"})
    backup_change = _sync_change(service, run, {"7": "5"})
    backup_change.detail = {**backup_change.detail, "module": "backup"}
    backup_change.save()
    found = sync_breakdowns(company=company, changes=[rmm_change, backup_change])
    assert [line.name for line in found[rmm_change.pk].organizations] == ["Harbor (RMM)"]
    assert [line.name for line in found[backup_change.pk].organizations] == ["Harbor (Backup)"]
    assert found[rmm_change.pk].module_name == "RMM"
    assert found[backup_change.pk].module_name == "Backup"
