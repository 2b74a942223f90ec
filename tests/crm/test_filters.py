"""The account list's filters are declared once (crm/filters.py): the accounts page, the
mapping page and the API accept and refuse the same values."""

import pytest

from icb.crm.filters import AccountFilter
from tests.factories import make_account, make_hub_connection

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "query, expected",
    [
        ({}, {"name": None, "code": None, "active": None}),
        ({"name": "harbor", "active": "true"}, {"name": "harbor", "code": None, "active": True}),
        ({"active": "false", "code": "HD"}, {"name": None, "code": "HD", "active": False}),
        ({"active": ""}, {"name": None, "code": None, "active": None}),
    ],
)
def test_the_declaration_parses_a_query(query, expected):
    assert AccountFilter.from_query(query) == (AccountFilter(**expected), {})


@pytest.mark.parametrize("query", [{"active": "bogus"}, {"name": "x" * 201}, {"code": "c" * 41}])
def test_page_and_api_refuse_the_same_values_with_the_same_words(admin_client, company, query):
    make_account(company, "Harbor Dental Group", code="HDG")
    make_hub_connection(company)  # the mapping page
    parsed, errors = AccountFilter.from_query(query)
    assert parsed == AccountFilter() and set(errors) == set(query)
    field, message = next((f, m[0]) for f, m in errors.items())

    answer = admin_client.get("/api/v1/accounts", query)
    assert answer.status_code == 422 and answer.json()["errors"] == {field: [message]}
    grid = admin_client.get("/api/v1/mappings", query)
    assert grid.status_code == 422 and grid.json()["errors"] == {field: [message]}

    for page in ("/admin/crm/accounts/", "/admin/my-company/hub-settings/"):
        response = admin_client.get(page, query)
        assert response.status_code == 200
        html = response.content.decode()
        assert "Harbor Dental Group" in html and message in html, page
