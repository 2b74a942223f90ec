"""Unmapped usage, read from the sandbox hub (a real server): quantities per billing type,
revenue at the company's median price, organizations marked new, the scan and its
failures, accounts whose mapping is incomplete, and tenant isolation."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from icb.celery import app
from icb.events.models import Event
from icb.hub import services as hub_services
from icb.hub import tasks as hub_tasks
from icb.hub.models import BillingType, Module, Organization
from icb.mapping import unmapped, unmapped_selectors
from icb.mapping.models import MappingSuggestion, UnmappedScanStep, UnmappedUsage
from tests.factories import (
    make_account,
    make_company,
    make_contract,
    make_hub_connection,
    make_mapping,
    make_module,
    make_org,
    make_service,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def linked(hub, company):
    """The company connected to the sandbox, its directory read."""
    make_hub_connection(company, hub.obtain_tokens(), read_directory=True)
    return hub


def _org(company, module: str, name: str) -> Organization:
    """The sandbox's own organization of that name: the first listed (other tests of the
    session may have added one of the same name after it)."""
    return (
        Organization.objects.filter(company=company, module__code=module, name=name)
        .order_by("pk")
        .first()
    )


def _listed(company, **filters) -> dict:
    return {
        (i.module, i.organization_id): i
        for i in unmapped_selectors.unmapped_organizations(company=company, **filters)
    }


def test_usage_of_unmapped_organizations_per_billing_type(linked, company):
    harbor = _org(company, "rmm", "Harbor Dental Group")
    make_mapping(make_account(company, "Harbor Dental Group", "HARBOR"), harbor)
    with_usage = unmapped.read_unmapped_usage(company=company)

    listed = _listed(company)
    assert len(listed) == with_usage == unmapped_selectors.unmapped_count(company=company)
    assert ("rmm", harbor.external_id) not in listed  # mapped
    site = _org(company, "rmm", "HARBOR DENTAL \u2013 Boston Office")
    item = listed[("rmm", site.external_id)]  # a site of a mapped parent is not mapped
    assert item.parent_name == "Harbor Dental Group" and item.module_name
    hub_says = {k: v for k, v in linked.quantities("rmm", site.external_id).items() if v != "0"}
    assert {q.billing_type: q.text for q in item.quantities} == hub_says
    assert item.suggestion is None and not item.new  # no search yet; first read: not new
    # cancelled organizations report zeros: never listed
    cancelled = Organization.objects.filter(company=company, status="cancelled")
    assert not {(o.module.code, o.external_id) for o in cancelled} & set(listed)


def test_revenue_at_the_median_price_sorted_by_money(linked, company):
    added = linked.add_organization(
        module="rmm",
        name="Quillfeather Robotics LLC",
        quantities={"workstations": 14, "servers": 3, "printers": 2},
    )
    hub_services.refresh_directory(company=company)
    rmm = Module.objects.get(company=company, code="rmm")
    types = {b.code: b for b in BillingType.objects.filter(module=rmm)}
    contract = make_contract(make_account(company, "Billed Customer", "BILLED"))
    for price, code in [("40", "workstations"), ("60", "workstations"), ("45", "workstations")]:
        make_service(
            contract, f"WS {price}", price, "1", billing_mode="icb", **_icb(rmm, types[code])
        )
    for price in ("10", "15.01"):
        make_service(
            contract, f"Srv {price}", price, "1", billing_mode="icb", **_icb(rmm, types["servers"])
        )
    make_service(contract, "Manual WS", "999", "1", **_icb(rmm, types["workstations"]))  # manual
    unmapped.read_unmapped_usage(company=company)

    items = unmapped_selectors.unmapped_organizations(company=company)
    quill = next(i for i in items if i.organization_id == added["id"])
    # 14 × 45 (median of 40, 45, 60) + 3 × 12.505 (median of 10, 15.01); printers unpriced
    assert quill.estimated_monthly_revenue == Decimal("667.52")
    assert isinstance(quill.estimated_monthly_revenue, Decimal)
    by_code = {q.billing_type: q for q in quill.quantities}
    assert by_code["printers"].unit_price is None and by_code["servers"].text == "3"
    revenues = [i.estimated_monthly_revenue for i in items]
    assert revenues == sorted(revenues, reverse=True) and revenues[0] > 0
    assert quill.new  # first listed by the latest refresh
    told = Event.objects.get(company=company, payload__organization_id=added["id"])
    assert told.payload["estimated_monthly_revenue"] == "667.52"
    # The usual prices are those of the last read: a service added since changes nothing
    # until the next one.
    for price in ("100", "100"):
        make_service(
            contract, "WS more", price, "1", billing_mode="icb", **_icb(rmm, types["workstations"])
        )
    assert _listed(company)[("rmm", added["id"])].estimated_monthly_revenue == Decimal("667.52")
    read_at = unmapped_selectors.unmapped_summary(company=company).priced_at
    unmapped.read_unmapped_usage(company=company)
    # 14 × 60 (median of 40, 45, 60, 100, 100) + 3 × 12.505
    assert _listed(company)[("rmm", added["id"])].estimated_monthly_revenue == Decimal("877.52")
    assert unmapped_selectors.unmapped_summary(company=company).priced_at > read_at


def _icb(module, billing_type) -> dict:
    return {"icb_module": module, "icb_billing_type": billing_type}


def test_new_since_the_previous_refresh_only(linked, company):
    before = timezone.now()
    added = linked.add_organization(
        module="backup", name="Nimbus Kite Works", quantities={"agents": 4}
    )
    hub_services.refresh_directory(company=company)
    unmapped.read_unmapped_usage(company=company)
    listed = _listed(company)
    assert listed[("backup", added["id"])].new
    assert [i.organization_id for i in listed.values() if i.new] == [added["id"]]
    assert [i.name for i in _listed(company, new_only=True).values()] == ["Nimbus Kite Works"]
    since = unmapped_selectors.new_unmapped_organizations(company=company, since=before)
    assert [i.organization_id for i in since] == [added["id"]]

    # told once, in the outbox, for the digest and the webhooks
    unmapped.read_unmapped_usage(company=company)
    told = Event.objects.filter(company=company, type="organization.unmapped")
    assert [e.payload for e in told] == [
        {
            "module": "backup",
            "organization_id": added["id"],
            "name": "Nimbus Kite Works",
            "quantities": {"agents": "4"},
            "estimated_monthly_revenue": None,
            "currency": "USD",
        }
    ]

    hub_services.refresh_directory(company=company)  # the next refresh: no longer new
    assert not _listed(company)[("backup", added["id"])].new
    assert (
        unmapped_selectors.new_unmapped_organizations(company=company, since=timezone.now()) == []
    )


def test_the_scan_reads_searches_and_records_its_progress(linked, company):
    make_account(company, "Harbor Dental Group", "HARBOR")
    scan = unmapped.run_scan(company=company)
    assert scan.step == UnmappedScanStep.DONE and scan.usage_read_at and not scan.error
    assert scan.done == scan.total > 0  # the search's progress, complete
    backup = _org(company, "backup", "Harbor Dental Group, Inc.")
    suggestion = MappingSuggestion.objects.get(organization=backup)
    assert suggestion.account.name == "Harbor Dental Group" and suggestion.confidence >= Decimal(
        "0.9"
    )


def test_a_hub_failure_keeps_the_previous_snapshot(linked, company):
    unmapped.run_scan(company=company)
    before = set(
        UnmappedUsage.objects.values_list("organization_id", "billing_type_id", "quantity")
    )
    linked.set_fault(endpoint="usage", kind="error", status=400)
    scan = unmapped.run_scan(company=company)
    assert scan.step == UnmappedScanStep.FAILED and "refused" in scan.error
    assert before and before == set(
        UnmappedUsage.objects.values_list("organization_id", "billing_type_id", "quantity")
    )


def test_one_scan_at_a_time(linked, company):
    first = unmapped.start_scan(company=company)
    assert first is not None and unmapped.start_scan(company=company) is None
    type(first).objects.filter(pk=first.pk).update(started_at=timezone.now() - timedelta(hours=1))
    assert unmapped.start_scan(company=company) is not None  # a dead worker's scan


def test_accounts_whose_mapping_is_incomplete(company):
    rmm = make_module(company, "rmm", "RMM")
    ws = BillingType.objects.create(module=rmm, code="workstations", name="Workstations")
    harbor = make_account(company, "Harbor Dental Group", "HDG")
    cedar = make_account(company, "Cedar Law", "CLP")
    for account in (harbor, cedar):
        contract = make_contract(account)
        make_service(contract, "WS", "45", "1", billing_mode="icb", **_icb(rmm, ws))
        make_service(contract, "WS 2", "45", "1", billing_mode="icb", **_icb(rmm, ws))
    make_service(make_contract(make_account(company, "Manual", "MAN")), "Hand", "1", "1")
    make_mapping(cedar, make_org(rmm, "R-1", "Cedar Law"))
    assert unmapped_selectors.incomplete_mappings(company=company).count == 0  # none read yet
    unmapped.refresh_figures(company=company)  # as each read of the usage does
    found = unmapped_selectors.incomplete_mappings(company=company)
    assert [(r.account.name, r.module.code, r.services) for r in found.rows] == [
        ("Harbor Dental Group", "rmm", 2)
    ]
    assert found.count == 1
    # mapped since the read: left out at once
    make_mapping(harbor, make_org(rmm, "R-2", "Harbor Dental"))
    assert unmapped_selectors.incomplete_mappings(company=company).count == 0


def test_incomplete_mappings_are_capped_with_their_count(company):
    rmm = make_module(company, "rmm", "RMM")
    ws = BillingType.objects.create(module=rmm, code="workstations", name="Workstations")
    for n in range(4):
        contract = make_contract(make_account(company, f"Account {n}", f"A{n}"))
        make_service(contract, "WS", "45", "1", billing_mode="icb", **_icb(rmm, ws))
    unmapped.refresh_figures(company=company)
    found = unmapped_selectors.incomplete_mappings(company=company, limit=3)
    assert [r.account.name for r in found.rows] == ["Account 0", "Account 1", "Account 2"]
    assert found.count == 4


def test_another_companys_usage_is_not_shown(company):
    other = make_company("Rival MSP")
    for owner in (company, other):
        rmm = make_module(owner, "rmm", "RMM")
        ws = BillingType.objects.create(module=rmm, code="workstations", name="Workstations")
        org = make_org(rmm, f"R-{owner.pk}", f"{owner.name} customer")
        UnmappedUsage.objects.create(
            company=owner, module=rmm, organization=org, billing_type=ws, quantity=Decimal(5)
        )
    names = [i.name for i in unmapped_selectors.unmapped_organizations(company=company)]
    assert names == [f"{company.name} customer"]
    assert unmapped_selectors.unmapped_count(company=company) == 1
    assert unmapped_selectors.unmapped_count(company=other) == 1


@pytest.fixture
def eager():
    """Celery runs tasks in the caller, as ICB_TASKS_EAGER=1 makes it."""
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


def test_the_periodic_directory_refresh_starts_the_scan(linked, company, eager):
    hub_tasks.refresh_directory(company.pk)
    scan = unmapped_selectors.scan_of(company=company)
    assert scan is not None and scan.step == UnmappedScanStep.DONE
    assert unmapped_selectors.unmapped_count(company=company) > 0


def test_read_usage_now_from_the_page(linked, company, eager, admin_client):
    response = admin_client.post("/finance/unmapped-usage/scan/", follow=True)
    assert "in the background" in response.content.decode()
    scan = unmapped_selectors.scan_of(company=company)
    assert scan is not None and scan.step == UnmappedScanStep.DONE
    page = admin_client.get("/finance/unmapped-usage/").content.decode()
    assert "Usage read" in page and "Read usage now" in page
