"""The contract list (page and API) costs the same number of queries for 2 contracts as
for 30: no query per row; and no work per contract before the page is cut."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from icb.contracts import selectors, views
from tests.factories import make_account, make_contract, make_service

pytestmark = pytest.mark.django_db


def _make_contracts(company, start, count):
    for i in range(start, start + count):
        contract = make_contract(
            make_account(company, f"Customer {i:03d}", f"C{i:03d}"), f"Plan {i}"
        )
        make_service(contract, "Workstations", units="3")
        make_service(contract, "Servers", unit_price="99.00", units="1")


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("url", [reverse("contracts:list"), "/api/v1/contracts"])
def test_contract_list_queries_do_not_grow_with_rows(admin_client, company, url):
    _make_contracts(company, 0, 2)
    few = _count(admin_client, url)
    _make_contracts(company, 2, 23)
    many = _count(admin_client, url)
    assert many == few


def test_contract_list_page_query_budget(admin_client, company, django_assert_max_num_queries):
    _make_contracts(company, 0, 25)
    # session, user (+company, role), count, page of contracts with accounts, the
    # page's services (their totals and counts); the menu's counts (unmapped usage,
    # Billing review).
    with django_assert_max_num_queries(9):
        response = admin_client.get(reverse("contracts:list"))
    assert response.content.decode().count("234.00 USD") == 25  # 3 × 45 + 99


def test_contract_list_api_query_budget(api, company, django_assert_max_num_queries):
    _make_contracts(company, 0, 25)
    # token (with user, company, role), count, page of contracts with accounts.
    with django_assert_max_num_queries(4):
        response = api.get("/contracts", page_size=25)
    assert len(response.json()["items"]) == 25


def test_contract_list_query_does_not_aggregate_services(company):
    # Counting services in the list's query would count them for every contract of the
    # company (GROUP BY over all of them) before the page is cut.
    sql = str(selectors.contract_list(company=company, q="x", status="active").query)
    assert "contracts_service" not in sql
    assert "GROUP BY" not in sql.upper()
    assert "COUNT(" not in sql.upper()


@pytest.mark.parametrize("url", [reverse("contracts:list"), "/api/v1/contracts"])
def test_contract_list_reads_services_of_the_page_only(admin_client, company, url, monkeypatch):
    # 7 contracts, pages of 3: the last page's services are read, nobody else's.
    monkeypatch.setattr(views, "LIST_PAGE_SIZE", 3)
    _make_contracts(company, 0, 7)
    attached = []
    attach = selectors.attach_totals
    monkeypatch.setattr(selectors, "attach_totals", lambda cs: attached.append(cs) or attach(cs))
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(url, {"page": 3, "page_size": 3})
    assert response.status_code == 200
    assert [len(contracts) for contracts in attached] == ([1] if "api" not in url else [])
    reads = [q["sql"] for q in queries if "contracts_service" in q["sql"]]
    assert len(reads) == len(attached)
    assert all("GROUP BY" not in sql.upper() for sql in reads)


def test_contract_list_page_shows_each_contracts_service_count(admin_client, company):
    _make_contracts(company, 0, 3)
    contract = company.contracts.order_by("id").first()
    make_service(contract, "Extra")  # 3 services on the first, 2 on the others
    response = admin_client.get(reverse("contracts:list"))
    cells = [
        c.strip()
        for c in re.findall(r'<td class="num">\s*(\d+)\s*</td>', response.content.decode())
    ]
    assert cells == ["3", "2", "2"]


def test_services_list_api_query_budget(api, company, django_assert_max_num_queries):
    _make_contracts(company, 0, 1)
    contract = company.contracts.get()
    for i in range(20):
        make_service(contract, f"Line {i}")
    with django_assert_max_num_queries(5):
        response = api.get(f"/contracts/{contract.pk}/services")
    assert response.json()["count"] == 22
