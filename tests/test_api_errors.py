"""Every API error answer carries a machine-readable `code` (docs/architecture.md,
"Errors"), so clients branch on it rather than on the wording of `detail`."""

import pytest
from django.test import Client, RequestFactory
from ninja.errors import Throttled

from icb.api import on_http_error
from icb.common.errors import Conflict, InvalidInput, NotFound, ServiceError, UpstreamError
from icb.tenancy.services import api_token_create
from tests.factories import make_account, make_contract, make_role, make_service, make_user

SHAPE = {"detail", "code", "errors"}


def _bearer(user) -> Client:
    _, raw = api_token_create(user=user, name="tests")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def _json(client, method, path, body=None):
    return client.generic(method, path, data=body or "{}", content_type="application/json")


def test_each_error_class_has_a_status_and_a_default_code():
    assert (InvalidInput("x").status, InvalidInput("x").code) == (422, "invalid")
    assert (NotFound("x").status, NotFound("x").code) == (404, "not_found")
    assert (Conflict("x").status, Conflict("x").code) == (409, "conflict")
    assert (UpstreamError("x").status, UpstreamError("x").code) == (502, "hub_unavailable")
    specific = InvalidInput("taken", field="code", code="duplicate_code")
    assert (specific.code, specific.errors) == ("duplicate_code", {"code": ["taken"]})
    assert InvalidInput("x").code == "invalid"  # a specific code stays on its instance
    assert all(c.code for c in ServiceError.__subclasses__())


@pytest.mark.django_db
def test_unauthenticated_is_unauthorized():
    response = Client().get("/api/v1/accounts")
    assert response.status_code == 401
    assert set(response.json()) == SHAPE and response.json()["code"] == "unauthorized"


def test_a_role_without_the_area_is_forbidden(company):
    user = make_user(company, "none@acme.test", make_role(company, "Nothing"))
    response = _bearer(user).get("/api/v1/accounts")
    assert response.status_code == 403
    assert set(response.json()) == SHAPE and response.json()["code"] == "forbidden"


def test_a_session_post_without_the_csrf_token_is_forbidden(admin_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    response = _json(client, "POST", "/api/v1/accounts", '{"name": "A", "code": "A"}')
    assert response.status_code == 403 and response.json()["code"] == "forbidden"


def test_not_found_invalid_and_specific_codes(company, other_company, admin_user):
    api = _bearer(admin_user)
    theirs = make_account(other_company, "Theirs", code="T")
    answer = api.get(f"/api/v1/accounts/{theirs.pk}")
    assert (answer.status_code, answer.json()["code"]) == (404, "not_found")

    # Refused by the schema (pydantic) and by a service: the same code.
    answer = api.get("/api/v1/accounts", {"page_size": "0"})
    assert (answer.status_code, answer.json()["code"]) == (422, "invalid")
    assert "page_size" in answer.json()["errors"]
    answer = _json(api, "POST", "/api/v1/accounts", '{"name": "A", "code": "no spaces"}')
    assert (answer.status_code, answer.json()["code"]) == (422, "invalid")
    assert "code" in answer.json()["errors"]

    make_account(company, "Harbor", code="HD")
    answer = _json(api, "POST", "/api/v1/accounts", '{"name": "Other", "code": "hd"}')
    assert (answer.status_code, answer.json()["code"]) == (422, "duplicate_code")


def test_conflicts_name_what_conflicts(company, admin_user):
    api = _bearer(admin_user)
    answer = api.post("/api/v1/hub/refresh")
    assert answer.status_code == 409
    assert set(answer.json()) == SHAPE and answer.json()["code"] == "hub_not_connected"

    service = make_service(make_contract(make_account(company)), billing_mode="icb")
    answer = _json(api, "PATCH", f"/api/v1/services/{service.pk}", '{"units": "3"}')
    assert (answer.status_code, answer.json()["code"]) == (409, "units_synced")


def test_too_many_requests_is_rate_limited(db):
    request = RequestFactory().get("/api/v1/accounts")
    answer = on_http_error(request, Throttled(wait=5))
    assert answer.status_code == 429
    assert b'"code": "rate_limited"' in answer.content
