"""A NUL character is refused at the edge, once, for pages and the API alike:
PostgreSQL cannot store or compare text holding one, so before this every entry point
that reached a query with it answered 500 there (SQLite was fine)."""

import json

import pytest

from icb.hub.models import BillingType, Module
from tests.factories import make_account, make_contract, make_service

NUL = "\x00"


@pytest.fixture
def service(company):
    module = Module.objects.create(company=company, code="rmm", name="RMM")
    BillingType.objects.create(module=module, code="devices", name="Devices")
    return make_service(make_contract(make_account(company)))


def _assert_refused_as_api_error(response, field=None):
    assert response.status_code == 422, response.content[:300]
    body = response.json()
    assert "NUL" in body["detail"]
    assert body["code"] == "invalid"
    if field:
        assert list(body["errors"]) == [field]


API_GETS = [
    "/api/v1/modules/%00/organizations",
    "/api/v1/modules/rmm/organizations?search=%00",
    "/api/v1/modules/rmm/organizations?parent=%00",
    "/api/v1/modules/rmm/organizations?cursor=%00",
    "/api/v1/mappings/organizations?module=rmm&search=a%00b",
    "/api/v1/mappings?search=%00",
    "/api/v1/accounts?search=%00",
    "/api/v1/contracts?status=%00",
    "/api/v1/sync-runs/1/services?status=%00",
    "/api/v1/me?%00=1",
]


@pytest.mark.parametrize("url", API_GETS)
def test_an_api_read_with_a_nul_is_a_clear_400(admin_client, service, url):
    _assert_refused_as_api_error(admin_client.get(url))


def test_a_cursor_whose_decoded_value_holds_a_nul_is_refused(admin_client, service):
    import base64

    cursor = base64.urlsafe_b64encode(json.dumps(["Harbor\u0000", "org-1"]).encode()).decode()
    for url in ("/api/v1/modules/rmm/organizations", "/api/v1/mappings/organizations"):
        response = admin_client.get(f"{url}?module=rmm&cursor={cursor}")
        assert response.status_code == 422, response.content[:300]
        assert response.json()["errors"]["cursor"] == [
            "The cursor is not valid; start again without it."
        ]


@pytest.mark.parametrize("field", ["module", "billing_type"])
def test_an_api_write_with_a_nul_in_its_json_body_changes_nothing(admin_client, service, field):
    body = {"module": "rmm", "billing_type": "devices", field: f"rm{NUL}m"}
    response = admin_client.put(
        f"/api/v1/services/{service.pk}/icb", json.dumps(body), content_type="application/json"
    )
    _assert_refused_as_api_error(response, field)
    service.refresh_from_db()
    assert service.billing_mode == "manual"


def test_an_escaped_backslash_u0000_is_text_not_a_nul(admin_client, service):
    """The six characters \\u0000 in a JSON string are text, and are not refused."""
    response = admin_client.patch(
        f"/api/v1/services/{service.pk}",
        json.dumps({"description": "path \\u0000 literal"}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content[:300]
    assert response.json()["description"] == "path \\u0000 literal"


PAGE_GETS = [
    "/finance/sync-history/?status=%00",
    "/admin/crm/accounts/?search=%00",
    "/finance/contracts/?status=%00",
    "/admin/my-company/hub-settings/?search=%00",
]


@pytest.mark.parametrize("url", PAGE_GETS)
def test_a_page_with_a_nul_in_its_query_is_a_400_page(admin_client, service, url):
    response = admin_client.get(url)
    assert response.status_code == 400
    assert b"NUL" in response.content


def test_a_form_post_with_a_nul_changes_nothing(admin_client, service):
    response = admin_client.post(
        f"/finance/contracts/{service.contract_id}/services/{service.pk}/",
        {"module": f"rmm{NUL}", "billing_type": "devices", "units": "3"},
    )
    assert response.status_code == 400
    service.refresh_from_db()
    assert service.billing_mode == "manual"
