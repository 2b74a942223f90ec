"""Finance › Unmapped usage: the list, its count in the menu and on the home page, and
accepting suggestions by form (one, or all above a confidence)."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from icb.hub.models import BillingType
from icb.mapping import suggestions, unmapped
from icb.mapping.models import Mapping, UnmappedUsage
from icb.tenancy.models import Level
from tests.factories import (
    make_account,
    make_contract,
    make_hub_connection,
    make_module,
    make_org,
    make_role,
    make_service,
    make_user,
)

pytestmark = pytest.mark.django_db

PAGE = "/finance/unmapped-usage/"
ACCEPT = "/finance/unmapped-usage/accept/"


@pytest.fixture
def world(company):
    make_hub_connection(company)
    rmm = make_module(company, "rmm", "RMM")
    ws = BillingType.objects.create(module=rmm, code="workstations", name="Desktop & Laptop")
    harbor = make_account(company, "Harbor Dental Group", "HDG")
    service = make_service(make_contract(harbor), "WS", "45.00", "1", billing_mode="icb")
    type(service).objects.filter(pk=service.pk).update(icb_module=rmm, icb_billing_type=ws)
    org = make_org(rmm, "R-2", "HARBOR DENTAL GROUP, INC.")
    stranger = make_org(rmm, "R-4", "Zephyr Analytics")
    for one, quantity in ((org, 12), (stranger, 3)):
        UnmappedUsage.objects.create(
            company=company, module=rmm, organization=one, billing_type=ws, quantity=quantity
        )
    suggestions.find_suggestions(company=company)
    unmapped.refresh_figures(company=company)  # the usual prices, as a read stores them
    return {"harbor": harbor, "org": org, "rmm": rmm, "ws": ws}


def test_the_page_lists_usage_money_and_suggestions(company, admin_client, world):
    html = admin_client.get(PAGE).content.decode()
    assert "HARBOR DENTAL GROUP, INC." in html and "Zephyr Analytics" in html
    assert "12 Desktop &amp; Laptop" in html
    assert "540.00 USD" in html  # 12 × 45.00
    assert html.index("HARBOR DENTAL GROUP, INC.") < html.index("Zephyr Analytics")  # by money
    assert "99 % sure" in html and "No likely account." in html
    # the incomplete mapping: Harbor has an ICB service in RMM and nothing mapped
    assert "Map its organizations" in html
    assert "priced as of" in html


def _queries_of_the_page(client) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(PAGE).status_code == 200
    return [q["sql"] for q in queries.captured_queries]


def test_the_pages_work_does_not_grow_with_the_services(company, admin_client, world):
    """The usual prices and the incomplete mappings are stored with the usage: the page
    reads no service, so 10 or 200 of them make the same queries."""
    accounts = [make_account(company, f"Customer {n}", f"C{n}") for n in range(5)]

    def add_services(count: int) -> None:
        for n in range(count):
            contract = make_contract(accounts[n % len(accounts)])
            service = make_service(contract, f"WS {n}", str(40 + n % 7), "1", billing_mode="icb")
            type(service).objects.filter(pk=service.pk).update(
                icb_module=world["rmm"], icb_billing_type=world["ws"]
            )
        unmapped.refresh_figures(company=company)

    add_services(10)
    few = _queries_of_the_page(admin_client)
    add_services(190)
    many = _queries_of_the_page(admin_client)
    assert len(many) == len(few)
    assert not [sql for sql in many if "contracts_service" in sql]


def test_the_count_is_in_the_menu_and_on_the_home_page(admin_client, world):
    assert (
        '<span class="nav-badge" title="2 to look at">2</span>'
        in admin_client.get("/").content.decode()
    )
    assert "2 to look at</span>" in admin_client.get("/").content.decode()


def test_accept_one_by_form(company, admin_client, world):
    response = admin_client.post(
        ACCEPT,
        {"module": "rmm", "organization_id": "R-2", "account_id": world["harbor"].pk},
        follow=True,
    )
    assert "the organization is mapped" in response.content.decode()
    assert Mapping.objects.get(organization=world["org"]).account == world["harbor"]
    page = admin_client.get(PAGE).content.decode()
    assert "HARBOR DENTAL GROUP, INC." not in page
    assert 'title="1 to look at"' in page


def test_accept_all_above_a_percentage(company, admin_client, world):
    response = admin_client.post(ACCEPT, {"min_confidence": "99.5"}, follow=True)
    assert "nothing was mapped" in response.content.decode()
    response = admin_client.post(ACCEPT, {"min_confidence": "90"}, follow=True)
    assert "The suggestion was accepted" in response.content.decode()
    assert Mapping.objects.filter(organization=world["org"]).exists()
    for bad in ("", "abc", "150", "NaN", "-1"):
        response = admin_client.post(ACCEPT, {"min_confidence": bad}, follow=True)
        assert response.status_code == 200
        assert "percentage" in response.content.decode() or "0 to 1" in response.content.decode()


def test_a_bad_pick_is_a_message_not_a_mapping(company, admin_client, world):
    for data in (
        {"module": "rmm", "organization_id": "R-2", "account_id": "999999"},
        {"module": "rmm", "organization_id": "R-4", "account_id": world["harbor"].pk},
        {"module": "nope", "organization_id": "", "account_id": "x"},
    ):
        response = admin_client.post(ACCEPT, data, follow=True)
        assert "No suggestion maps" in response.content.decode(), data
    assert not Mapping.objects.exists()


def test_accepting_needs_hub_settings_modify(company, world):
    levels = {"billing_review": Level.MODIFY, "hub_settings": Level.VIEW}
    client = Client()
    client.force_login(make_user(company, "rev@acme.test", make_role(company, "Rev", **levels)))
    page = client.get(PAGE).content.decode()
    assert "Accept suggestions" not in page and ">Accept</button>" not in page
    data = {"module": "rmm", "organization_id": "R-2", "account_id": world["harbor"].pk}
    assert client.post(ACCEPT, data).status_code == 403
    assert not Mapping.objects.exists()


def test_without_the_hub_the_page_says_so(company, admin_client):
    html = admin_client.get(PAGE).content.decode()
    assert "Unmapped usage" in html and "Read usage now" not in html
    response = admin_client.post("/finance/unmapped-usage/scan/", follow=True)
    assert "is not connected" in response.content.decode()
    assert Decimal(0) == sum(UnmappedUsage.objects.values_list("quantity", flat=True))
