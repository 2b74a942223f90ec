import pytest
from django.test import Client

from icb.tenancy.services import api_token_create
from tests.factories import make_role, make_user


@pytest.mark.django_db
def test_health_needs_no_auth():
    response = Client().get("/api/v1/health")
    assert response.status_code == 200 and response.json()["status"] == "ok"


@pytest.mark.django_db
def test_me_with_token_and_session(company):
    role = make_role(company, "Viewer", hub_settings="view")
    user = make_user(company, "v@acme.test", role)
    _, raw = api_token_create(user=user, name="t")
    body = Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}").json()
    assert body["permissions"] == {
        "crm_accounts": "none",
        "contracts": "none",
        "hub_settings": "view",
        "security": "none",
        "billing_review": "none",
        "invoicing": "none",
    }
    assert body["administrator"] is False
    client = Client()
    client.force_login(user)
    assert client.get("/api/v1/me").json()["email"] == "v@acme.test"


@pytest.mark.django_db
def test_unauthenticated_and_bad_tokens_are_401():
    assert Client().get("/api/v1/me").status_code == 401
    response = Client().get("/api/v1/me", HTTP_AUTHORIZATION="Bearer icb_nonsense")
    assert response.status_code == 401 and "detail" in response.json()


def test_openapi_and_docs_served(db):
    client = Client()
    spec = client.get("/api/v1/openapi.json")
    assert spec.status_code == 200 and spec.json()["info"]["title"] == "ICB API"
    assert client.get("/api/v1/docs").status_code == 200
