"""/api/v1 contracts, services and unit history: answers, scoping, permissions, bad input."""

import datetime

import pytest
from django.test import Client

from icb.contracts.models import Contract, Service, ServiceUnitChange
from tests.clients import Api
from tests.factories import make_account, make_contract, make_service

pytestmark = pytest.mark.django_db


def _contract_body(account, **overrides):
    body = {
        "account_id": account.pk,
        "name": "Backup Plan",
        "start_date": "2026-03-01",
        "billing_frequency": "monthly",
        "currency": "USD",
    }
    body.update(overrides)
    return body


# --- contracts -----------------------------------------------------------------------


def test_create_contract_answers_201_with_the_contract(api, account):
    response = api.post(
        "/contracts", _contract_body(account, end_date="2027-02-28", billing_frequency="yearly")
    )
    assert response.status_code == 201, response.content
    data = response.json()
    contract = Contract.objects.get(pk=data["id"])
    assert data == {
        "id": contract.pk,
        "account": {"id": account.pk, "name": "Harbor Dental Group", "code": "HARBOR"},
        "name": "Backup Plan",
        "start_date": "2026-03-01",
        "end_date": "2027-02-28",
        "billing_frequency": "yearly",
        "currency": "USD",
        "status": "active",
        "billing_timing": "advance",
        "proration": "daily",
        "payment_terms_days": 30,
        "overrides": {"billing_timing": None, "proration": None, "payment_terms_days": None},
        "created_at": data["created_at"],
    }
    assert contract.company == account.company


def test_list_contracts_filters_and_paginates(api, company, contract):
    other_account = make_account(company, "Zephyr Law", "ZEPH")
    make_contract(other_account, "Legal IT", status="ended")
    make_contract(other_account, "Legal Backup")

    everything = api.get("/contracts").json()
    assert everything["count"] == 3
    assert [c["name"] for c in everything["items"]] == [
        "Managed Services",
        "Legal Backup",
        "Legal IT",
    ]  # by account name, then name
    assert api.get("/contracts", q="zeph").json()["count"] == 2
    assert api.get("/contracts", q="HARBOR").json()["count"] == 1
    assert api.get("/contracts", status="ended").json()["items"][0]["name"] == "Legal IT"
    assert api.get("/contracts", account_id=contract.account_id).json()["count"] == 1

    page2 = api.get("/contracts", page=2, page_size=2).json()
    assert {k: page2[k] for k in ("count", "page", "pages", "page_size")} == {
        "count": 3,
        "page": 2,
        "pages": 2,
        "page_size": 2,
    }
    assert [c["name"] for c in page2["items"]] == ["Legal IT"]


def test_get_and_patch_contract(api, contract):
    assert api.get(f"/contracts/{contract.pk}").json()["name"] == "Managed Services"
    response = api.patch(
        f"/contracts/{contract.pk}", {"status": "on_hold", "end_date": "2026-12-31"}
    )
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["end_date"]) == ("on_hold", "2026-12-31")
    contract.refresh_from_db()
    assert contract.status == "on_hold"


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"account_id": 999999}, "account_id"),
        ({"account_id": 10**30}, "account_id"),
        ({"account_id": "abc"}, "account_id"),
        ({"end_date": "2026-02-01"}, "end_date"),  # before the start
        ({"currency": "XYZ"}, "currency"),
        ({"billing_frequency": "weekly"}, "billing_frequency"),
        ({"billing_frequency": 3}, "billing_frequency"),
        ({"status": "gone"}, "status"),
        ({"start_date": "2026-02-30"}, "start_date"),
        ({"start_date": "yesterday"}, "start_date"),
        ({"start_date": None}, "start_date"),
        ({"name": ""}, "name"),
        ({"name": 12}, "name"),
        ({"name": "bad\u0000name"}, "name"),
    ],
)
def test_create_contract_with_bad_input_answers_422_naming_the_field(
    api, account, overrides, field
):
    response = api.post("/contracts", _contract_body(account, **overrides))
    assert response.status_code == 422, response.content
    assert field in response.json()["errors"], response.json()
    assert response.json()["detail"]
    assert not Contract.objects.exists()


def test_create_contract_with_another_companys_account_is_refused(api, other_contract):
    response = api.post("/contracts", _contract_body(other_contract.account))
    assert response.status_code == 422
    assert response.json()["errors"] == {"account_id": ["Unknown account."]}


@pytest.mark.parametrize("raw", ["", "{bad json", "[]", "null", '"text"', "123", "{}"])
def test_malformed_bodies_are_4xx_never_500(api, contract, service, raw):
    for method, path in (
        ("post", "/contracts"),
        ("patch", f"/contracts/{contract.pk}"),
        ("post", f"/contracts/{contract.pk}/services"),
        ("patch", f"/services/{service.pk}"),
    ):
        response = getattr(api, method)(path, raw=raw)
        assert 400 <= response.status_code < 500, (method, path, raw, response.content)
        assert "detail" in response.json()


def test_patch_contract_with_end_before_start_is_refused(api, contract):
    response = api.patch(f"/contracts/{contract.pk}", {"end_date": "2025-01-01"})
    assert response.status_code == 422
    assert "end_date" in response.json()["errors"]
    contract.refresh_from_db()
    assert contract.end_date is None


# --- services ------------------------------------------------------------------------


def test_create_service_answers_201_with_decimal_strings(api, contract, admin_user):
    response = api.post(
        f"/contracts/{contract.pk}/services",
        {"name": "Backup", "unit_price": "45", "units": 3, "description": "Nightly"},
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert {
        k: data[k]
        for k in ("contract_id", "name", "description", "unit_price", "units", "amount", "currency")
    } == {
        "contract_id": contract.pk,
        "name": "Backup",
        "description": "Nightly",
        "unit_price": "45.00",
        "units": "3.00",
        "amount": "135.00",
        "currency": "USD",
    }
    (row,) = ServiceUnitChange.objects.filter(service_id=data["id"])
    assert (row.old_units, row.source, row.user) == (None, "created", admin_user)


def test_list_services_of_a_contract(api, contract, service):
    make_service(contract, "Antivirus", unit_price="3.10", units="7")
    data = api.get(f"/contracts/{contract.pk}/services").json()
    assert data["count"] == 2
    assert [(s["name"], s["amount"]) for s in data["items"]] == [
        ("Antivirus", "21.70"),
        ("Managed Workstations", "450.00"),
    ]


@pytest.mark.parametrize(
    "value",
    [
        "abc",
        "-1",
        "1.234",
        "1e400",
        "NaN",
        "Infinity",
        "",
        -1,
        1.234,
        True,
        None,
        [],
        {"a": 1},
        "99999999999",
    ],
)
@pytest.mark.parametrize("field", ["units", "unit_price"])
def test_create_service_with_bad_numbers_answers_422(api, contract, field, value):
    body = {"name": "Backup", "unit_price": "45.00", "units": "3"}
    body[field] = value
    response = api.post(f"/contracts/{contract.pk}/services", body)
    assert response.status_code == 422, response.content
    assert field in response.json()["errors"]
    assert not Service.objects.exists()


def test_json_number_1e400_is_refused(api, contract):
    raw = '{"name": "Backup", "unit_price": "45.00", "units": 1e400}'
    response = api.post(f"/contracts/{contract.pk}/services", raw=raw)
    assert response.status_code == 422
    assert "units" in response.json()["errors"]


def test_patch_units_records_history_and_answers_the_service(api, service, admin_user):
    response = api.patch(f"/services/{service.pk}", {"units": "12.5"})
    assert response.status_code == 200, response.content
    assert (response.json()["units"], response.json()["amount"]) == ("12.50", "562.50")
    history = api.get(f"/services/{service.pk}/history").json()
    assert history["count"] == 2
    newest = history["items"][0]
    assert {
        k: newest[k] for k in ("old_units", "new_units", "source", "user", "sync_run_id", "detail")
    } == {
        "old_units": "10.00",
        "new_units": "12.50",
        "source": "user",
        "user": "admin@acme.test",
        "sync_run_id": None,
        "detail": {},
    }
    assert history["items"][1]["old_units"] is None
    assert history["items"][1]["source"] == "created"


def test_patch_without_units_change_adds_no_history(api, service):
    response = api.patch(f"/services/{service.pk}", {"name": "Workstations", "units": 10})
    assert response.status_code == 200
    assert api.get(f"/services/{service.pk}/history").json()["count"] == 1


@pytest.mark.parametrize(
    "body", [{"units": "-1"}, {"units": None}, {"unit_price": "0.001"}, {}, {"contract_id": 5}]
)
def test_patch_service_with_bad_input_changes_nothing(api, service, body):
    response = api.patch(f"/services/{service.pk}", body)
    assert response.status_code == 422, response.content
    service.refresh_from_db()
    assert str(service.units) == "10.00"


def test_delete_service_answers_204(api, service):
    response = api.delete(f"/services/{service.pk}")
    assert response.status_code == 204
    assert not Service.objects.filter(pk=service.pk).exists()
    assert api.get(f"/services/{service.pk}").status_code == 404


# --- scoping, authentication and permissions -----------------------------------------


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("get", "/contracts/{c}", None),
        ("patch", "/contracts/{c}", {"name": "Mine now"}),
        ("get", "/contracts/{c}/services", None),
        ("post", "/contracts/{c}/services", {"name": "X", "unit_price": "1", "units": "1"}),
        ("get", "/services/{s}", None),
        ("patch", "/services/{s}", {"units": "99"}),
        ("delete", "/services/{s}", None),
        ("get", "/services/{s}/history", None),
        ("get", "/services/99999999999999999999999", None),
        ("get", "/contracts/-5", None),
    ],
)
def test_another_companys_ids_are_404(api, other_service, method, path, body):
    path = path.format(c=other_service.contract_id, s=other_service.pk)
    response = getattr(api, method)(path, body) if body else getattr(api, method)(path)
    assert response.status_code == 404
    kind = "service" if "/services/" in path and not path.endswith("/services") else "contract"
    assert response.json() == {"detail": f"Unknown {kind}.", "code": "not_found", "errors": {}}
    other_service.refresh_from_db()
    assert other_service.name == "Their Service"
    assert str(other_service.units) == "10.00"


def test_the_list_never_shows_another_companys_contracts(api, contract, other_contract):
    names = [c["name"] for c in api.get("/contracts").json()["items"]]
    assert names == ["Managed Services"]
    assert api.get("/contracts", account_id=other_contract.account_id).json()["count"] == 0


def test_view_level_reads_but_cannot_write(viewer_api, contract, service):
    assert viewer_api.get("/contracts").status_code == 200
    assert viewer_api.get(f"/services/{service.pk}/history").status_code == 200
    writes = [
        viewer_api.post("/contracts", _contract_body(contract.account)),
        viewer_api.patch(f"/contracts/{contract.pk}", {"name": "x"}),
        viewer_api.post(
            f"/contracts/{contract.pk}/services", {"name": "X", "unit_price": "1", "units": "1"}
        ),
        viewer_api.patch(f"/services/{service.pk}", {"units": "1"}),
        viewer_api.delete(f"/services/{service.pk}"),
    ]
    assert [r.status_code for r in writes] == [403] * 5
    service.refresh_from_db()
    assert str(service.units) == "10.00"
    assert Contract.objects.count() == 1


def test_no_contracts_permission_is_403_even_for_reading(company, contract):
    from icb.tenancy.services import api_token_create
    from tests.factories import make_role, make_user

    role = make_role(company, "CRM only", crm_accounts="modify")
    user = make_user(company, "crm@acme.test", role=role)
    api = Api(Client(), api_token_create(user=user, name="t")[1])
    assert api.get("/contracts").status_code == 403
    assert api.get(f"/contracts/{contract.pk}").status_code == 403


def test_anonymous_is_401(contract):
    assert Client().get("/api/v1/contracts").status_code == 401


def test_session_writes_work_with_csrf_and_are_refused_without(admin_user, account):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    body = _contract_body(account)
    refused = client.post("/api/v1/contracts", body, content_type="application/json")
    assert refused.status_code == 403
    assert not Contract.objects.exists()

    client.get("/finance/contracts/")  # the page sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    accepted = client.post(
        "/api/v1/contracts", body, content_type="application/json", headers={"X-CSRFToken": token}
    )
    assert accepted.status_code == 201, accepted.content


def test_session_api_reads(session_api, contract):
    assert session_api.get("/contracts").json()["count"] == 1


def test_times_are_iso_with_zone(api, contract):
    created = api.get(f"/contracts/{contract.pk}").json()["created_at"]
    parsed = datetime.datetime.fromisoformat(created.replace("Z", "+00:00"))
    assert parsed.tzinfo is not None


def test_openapi_documents_the_endpoints():
    schema = Client().get("/api/v1/openapi.json").json()
    for path in (
        "/api/v1/contracts",
        "/api/v1/contracts/{contract_id}",
        "/api/v1/contracts/{contract_id}/services",
        "/api/v1/services/{service_id}",
        "/api/v1/services/{service_id}/history",
    ):
        assert path in schema["paths"], path


@pytest.mark.parametrize("status", ["gone", "ACTIVE", "x" * 300])
def test_an_unknown_status_is_refused_by_the_api_as_by_the_page(api, admin_client, status):
    from icb.contracts.filters import ContractFilter

    answer = api.get("/contracts", status=status)
    assert answer.status_code == 422 and answer.json()["code"] == "invalid"
    message = answer.json()["errors"]["status"][0]
    # One declaration: the page refuses the same value with the same words.
    assert ContractFilter.from_query({"status": status})[1] == {"status": [message]}
    assert message in admin_client.get("/finance/contracts/", {"status": status}).content.decode()
    # An empty status is "any" on the page (its "All" choice), but not a status the API
    # documents.
    assert admin_client.get("/finance/contracts/", {"status": ""}).status_code == 200
    assert api.get("/contracts", status="").status_code == 422
