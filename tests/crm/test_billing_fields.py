"""An account's tax rate (the company's when empty) and accounting contact."""

import pytest
from django.urls import reverse

from icb.crm.models import Account
from icb.tenancy.services import api_token_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client, admin_user):
    _, raw = api_token_create(user=admin_user, name="tests")
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
    return client


def _post(api, body):
    return api.post("/api/v1/accounts", body, content_type="application/json")


def test_the_tax_rate_defaults_to_the_companys_and_0_is_a_rate(api, company):
    company.tax_rate = "8.250"
    company.save()
    data = _post(
        api, {"name": "Harbor", "code": "H1", "accounting_contact_name": "Harbor Dental LLC"}
    ).json()
    assert (data["tax_rate"], data["overrides"], data["accounting_contact_name"]) == (
        "8.25",
        {"tax_rate": None},
        "Harbor Dental LLC",
    )
    data = _post(api, {"name": "Exempt", "code": "E1", "tax_rate": "0"}).json()
    assert (data["tax_rate"], data["overrides"]) == ("0", {"tax_rate": "0"})
    data = api.patch(
        f"/api/v1/accounts/{data['id']}", {"tax_rate": None}, content_type="application/json"
    ).json()
    assert data["tax_rate"] == "8.25"


@pytest.mark.parametrize("rate", ["-1", "101", "8.1234", "abc", "1e1", True])
def test_a_bad_tax_rate_is_422_and_changes_nothing(api, rate):
    response = _post(api, {"name": "Harbor", "code": "H1", "tax_rate": rate})
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["tax_rate"]
    assert not Account.objects.exists()


def test_the_account_form_has_the_billing_fields(admin_client, account, company):
    url = reverse("crm:detail", args=[account.pk])
    html = admin_client.get(url).content.decode()
    assert "Leave empty for the company&#x27;s rate (0 %)" in html or "company's rate (0 %)" in html
    form = {"name": account.name, "code": account.code, "is_active": "on", "tax_rate": "200"}
    html = admin_client.post(url, form).content.decode()
    assert "enter a percentage from 0 to 100" in html
    response = admin_client.post(
        url, {**form, "tax_rate": "7.5", "accounting_contact_name": "Harbor LLC"}
    )
    assert response.status_code == 302
    account.refresh_from_db()
    assert (str(account.tax_rate), account.accounting_contact_name) == ("7.500", "Harbor LLC")
