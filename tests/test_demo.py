"""The demo lines up with the sandbox hub: the same customers, a few mappings made when
the demo company first reads the sandbox's directory, others left for the user."""

from decimal import Decimal

import httpx
import pytest
from django.contrib.messages import get_messages
from django.core.management import call_command

from icb.billing_sync.services import enable_icb, sync_now
from icb.crm.models import Account
from icb.demo import create_demo_data, map_demo_organizations
from icb.hub import services as hub_services
from icb.hub.models import Organization
from icb.mapping.models import Mapping, MappingChange
from icb.mapping.services import CellChange, apply_changes
from sandbox_hub.names import demo_customers
from tests.clients import connect

pytestmark = pytest.mark.django_db


@pytest.fixture
def hub(hub):
    """The session's sandbox as generated: other tests remove organizations from it."""
    hub.reset()
    return hub


MAPPED = {
    "HARBOR": {
        "rmm": {
            "Harbor Dental Group",
            "HARBOR DENTAL \u2013 Boston Office",
            "HARBOR DENTAL \u2013 Quincy Clinic",
        },
        "backup": {"Harbor Dental Group, Inc."},
    },
    "PINECREST": {
        "rmm": {
            "Pinecrest Logistics",
            "Pinecrest Logistics \u2013 Hartford Warehouse",
            "Pinecrest Logistics \u2013 Springfield Depot",
        },
        "backup": {"PINECREST LOGISTICS LLC"},
    },
    "SUMMIT": {
        "rmm": {"Summit Ridge Accounting, CPAs"},
        "training": {"Summit Ridge Accounting"},
    },
}


def httpx_organizations(hub, module):
    tokens = hub.obtain_tokens()
    response = httpx.get(
        f"{hub.url}/api/v1/modules/{module}/organizations",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    return response.json()["organizations"]


def mappings(company) -> dict[str, dict[str, set[str]]]:
    found: dict[str, dict[str, set[str]]] = {}
    for code, module, name in Mapping.objects.filter(company=company).values_list(
        "account__code", "module__code", "organization__name"
    ):
        found.setdefault(code, {}).setdefault(module, set()).add(name)
    return found


def test_the_demo_accounts_are_the_sandbox_hubs_customers(company, admin_user):
    assert create_demo_data(company=company, actor=admin_user) is True
    accounts = Account.objects.filter(company=company)
    assert sorted(a.name for a in accounts) == sorted(c.name for c in demo_customers())
    assert not accounts.get(code="LIGHTHOUSE").is_active
    assert create_demo_data(company=company, actor=admin_user) is False  # once


def test_connecting_the_demo_company_makes_the_demo_mappings(
    hub, company, admin_user, admin_client
):
    call_command("demo_data", email=admin_user.email)
    assert not Mapping.objects.filter(company=company).exists()  # nothing to map to yet

    connect(admin_client)
    page = admin_client.get("/admin/integrations/hub/")
    notes = [str(m) for m in get_messages(page.wsgi_request)]
    assert any(n.startswith("Demo: mapped 10 organizations") for n in notes), notes

    assert mappings(company) == MAPPED
    # Made through the mapping service, by the administrator who connected.
    assert set(MappingChange.objects.filter(company=company).values_list("user", flat=True)) == {
        admin_user.pk
    }
    # Left unmapped on purpose, though the hub lists them under obvious names.
    for code, name in [
        ("BLUEWATER", "Bluewater Legal Partners LLP"),
        ("MAPLEVET", "Maple Street Veterinary Clinic"),
        ("NORTHGATE", "Northgate Manufacturing Co."),
    ]:
        assert Organization.objects.filter(company=company, module__code="rmm", name=name).exists()
        assert not Mapping.objects.filter(account__code=code).exists()


def test_a_demo_mapping_the_user_removed_is_not_made_again(hub, company, admin_user, admin_client):
    create_demo_data(company=company, actor=admin_user)
    connect(admin_client)
    harbor = Account.objects.get(company=company, code="HARBOR")
    backup = Mapping.objects.get(account=harbor, module__code="backup")
    apply_changes(
        company=company,
        user=admin_user,
        changes=[
            CellChange(
                account_id=harbor.pk, module="backup", remove=[backup.organization.external_id]
            )
        ],
    )
    admin_client.post("/admin/integrations/hub/refresh/")
    assert map_demo_organizations(company=company, user=admin_user) == 0
    assert "backup" not in mappings(company)["HARBOR"]


def test_a_site_gone_from_the_hub_is_left_out(hub, company, admin_user, admin_client):
    quincy = next(
        o
        for o in httpx_organizations(hub, "rmm")
        if o["name"] == "HARBOR DENTAL \u2013 Quincy Clinic"
    )
    hub.remove_organization("rmm", quincy["id"])
    create_demo_data(company=company, actor=admin_user)
    connect(admin_client)
    expected = {
        **MAPPED,
        "HARBOR": {
            **MAPPED["HARBOR"],
            "rmm": MAPPED["HARBOR"]["rmm"] - {"HARBOR DENTAL \u2013 Quincy Clinic"},
        },
    }
    assert mappings(company) == expected


def test_another_company_gets_no_mappings_on_connecting(hub, company, account, admin_client):
    # Only one demo-like account ("Harbor Dental Group", the shared fixture): not the demo.
    connect(admin_client)
    assert Organization.objects.filter(company=company, name="Harbor Dental Group").exists()
    assert not Mapping.objects.filter(company=company).exists()


def test_demo_data_after_connecting_maps_at_once(hub, company, admin_user, admin_client):
    connect(admin_client)
    call_command("demo_data", email=admin_user.email)
    assert mappings(company) == MAPPED


def test_a_demo_service_synced_from_the_hub(hub, company, admin_user, admin_client):
    create_demo_data(company=company, actor=admin_user)
    connect(admin_client)
    service = (
        Account.objects.get(company=company, code="HARBOR")
        .contracts.get()
        .services.get(name="Managed Workstations")
    )
    manual = service.units
    service = enable_icb(
        service=service, actor=admin_user, module="rmm", billing_type="workstations"
    )
    orgs = Organization.objects.filter(
        company=company, module__code="rmm", name__in=MAPPED["HARBOR"]["rmm"]
    )
    expected = sum(Decimal(hub.quantities("rmm", o.external_id)["workstations"]) for o in orgs)
    service = sync_now(service=service, actor=admin_user)
    assert service.icb_status == "ok" and service.units == expected
    # The demo's manual units were of the same size: the hub changes them, not replaces them.
    assert abs(expected - manual) <= manual / 2


def test_the_hub_page_reads_the_directory_without_the_sandbox_package(
    hub, company, admin_user, admin_client, monkeypatch
):
    """Without the demo's customer list (no sandbox package) connecting works as before."""
    from icb import demo

    create_demo_data(company=company, actor=admin_user)
    demo.demo_customers.cache_clear()
    monkeypatch.setattr(demo, "customers_file", lambda: None)
    try:
        connect(admin_client)
        assert hub_services.is_connected(company)
        assert not Mapping.objects.filter(company=company).exists()
    finally:
        demo.demo_customers.cache_clear()
