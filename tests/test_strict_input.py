"""The API takes only what it documents: ids are JSON integers, flags JSON booleans,
money and units plain decimal strings (or JSON numbers). Before, pydantic's lax mode took
`true` as the account id 1 and "yes" as true, and units such as "1E1" or an
Arabic-Indic "٣" were read as numbers."""

import json

import pytest

from icb.contracts.models import Contract
from tests.factories import make_contract, make_service


def _send(client, method, url, body):
    return getattr(client, method)(url, json.dumps(body), content_type="application/json")


CONTRACT = {
    "name": "Managed Services",
    "start_date": "2026-01-01",
    "billing_frequency": "monthly",
    "currency": "USD",
}


@pytest.mark.parametrize("account_id", [True, "1", 1.0, "01"])
def test_a_contract_s_account_id_must_be_a_json_integer(admin_client, account, account_id):
    body = {**CONTRACT, "account_id": account_id}
    response = _send(admin_client, "post", "/api/v1/contracts", body)
    assert response.status_code == 422, response.content[:300]
    assert "account_id" in response.json()["errors"]
    assert not Contract.objects.exists()


def test_a_contract_s_account_id_as_an_integer_is_taken(admin_client, account):
    response = _send(
        admin_client, "post", "/api/v1/contracts", {**CONTRACT, "account_id": account.pk}
    )
    assert response.status_code == 201, response.content[:300]


def test_changing_a_contract_s_account_takes_only_an_integer(admin_client, account):
    contract = make_contract(account)
    response = _send(
        admin_client, "patch", f"/api/v1/contracts/{contract.pk}", {"account_id": True}
    )
    assert response.status_code == 422
    contract.refresh_from_db()
    assert contract.account_id == account.pk


@pytest.mark.parametrize("active", ["yes", "false", 0, 1])
def test_an_account_s_active_flag_must_be_a_json_boolean(admin_client, account, active):
    response = _send(admin_client, "patch", f"/api/v1/accounts/{account.pk}", {"active": active})
    assert response.status_code == 422, response.content[:300]
    assert "active" in response.json()["errors"]
    account.refresh_from_db()
    assert account.is_active is True


def test_a_mapping_change_s_account_id_must_be_a_json_integer(admin_client, account):
    body = {"changes": [{"account_id": True, "module": "rmm", "add": ["R-1"]}]}
    response = _send(admin_client, "post", "/api/v1/mappings/changes", body)
    assert response.status_code == 422, response.content[:300]
    assert "changes.0.account_id" in response.json()["errors"]


@pytest.mark.parametrize("units", ["1E1", "\u0663", "\uff15", "1_000", "Infinity", "0x10"])
def test_units_are_plain_decimal_strings(admin_client, account, units):
    service = make_service(make_contract(account), units="4")
    response = _send(admin_client, "patch", f"/api/v1/services/{service.pk}", {"units": units})
    assert response.status_code == 422, response.content[:300]
    assert "units" in response.json()["errors"]
    service.refresh_from_db()
    assert service.units == 4
