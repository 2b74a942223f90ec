"""The ICB parts of the JSON API."""

import json
from decimal import Decimal

import pytest
from django.test import Client

from icb.tenancy.services import api_token_create
from tests.factories import make_account, make_contract, make_service, make_user

pytestmark = pytest.mark.django_db


class Api:
    def __init__(self, user):
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {api_token_create(user=user, name='t')[1]}"}

    def __call__(self, method, path, body=None):
        kwargs = {"headers": self.headers}
        if body is not None:
            kwargs.update(data=json.dumps(body), content_type="application/json")
        return getattr(self.client, method)(f"/api/v1{path}", **kwargs)


@pytest.fixture
def api(admin_user):
    return Api(admin_user)


@pytest.fixture
def service(contract):
    return make_service(contract, "Workstations", units="10")


@pytest.mark.usefixtures("auto_review")
def test_put_sync_delete(api, service, connected, orgs, account):
    manual = api("get", f"/services/{service.pk}").json()
    assert manual["billing_mode"] == "manual" and manual["icb"] is None

    body = api(
        "put", f"/services/{service.pk}/icb", {"module": "rmm", "billing_type": "workstations"}
    ).json()
    assert body["billing_mode"] == "icb"
    assert body["icb"]["module"] == "rmm" and body["icb"]["billing_type"] == "workstations"
    # Synced at once: nothing mapped yet.
    assert body["icb"]["status"] == "mapping_incomplete" and body["icb"]["next_sync_at"]
    assert body["icb"]["message"] == "Mapping Settings Incomplete"

    incomplete = api("post", f"/services/{service.pk}/sync").json()
    assert incomplete["icb"]["status"] == "mapping_incomplete"
    assert incomplete["icb"]["message"] == "Mapping Settings Incomplete"

    orgs.mapped(account, workstations=4)
    synced = api("post", f"/services/{service.pk}/sync").json()
    assert synced["units"] == "4.00" and synced["icb"]["status"] == "ok"
    assert synced["icb"]["last_sync_at"] and synced["icb"]["next_sync_at"]

    refused = api("patch", f"/services/{service.pk}", {"units": "7"})
    assert (
        refused.status_code == 409
        and "Stop Integrated Customer Billing" in refused.json()["detail"]
    )
    assert api("patch", f"/services/{service.pk}", {"name": "Desktops"}).status_code == 200

    stopped = api("delete", f"/services/{service.pk}/icb").json()
    assert stopped["billing_mode"] == "manual" and stopped["icb"] is None
    assert stopped["units"] == "4.00"
    assert api("patch", f"/services/{service.pk}", {"units": "7"}).json()["units"] == "7.00"

    listed = api("get", f"/contracts/{service.contract_id}/services").json()["items"]
    assert listed[0]["billing_mode"] == "manual"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"module": "nope", "billing_type": "workstations"}, "module"),
        ({"module": "rmm", "billing_type": "nope"}, "billing_type"),
        ({"module": "rmm", "billing_type": "protected_devices"}, "billing_type"),  # backup's
        ({"module": "", "billing_type": "servers"}, "module"),
        ({"module": "rmm"}, "billing_type"),
    ],
)
def test_put_refuses_unknown_choices_naming_the_field(api, service, connected, body, field):
    response = api("put", f"/services/{service.pk}/icb", body)
    assert response.status_code == 422, response.content
    assert field in response.json()["errors"]
    assert api("get", f"/services/{service.pk}").json()["billing_mode"] == "manual"


def test_put_without_hub_is_a_conflict(api, service):
    response = api(
        "put", f"/services/{service.pk}/icb", {"module": "rmm", "billing_type": "workstations"}
    )
    assert response.status_code == 409 and "not connected" in response.json()["detail"]


def test_sync_of_a_manual_service_is_a_conflict(api, service):
    assert api("post", f"/services/{service.pk}/sync").status_code == 409


def test_other_company_and_permissions(api, service, other_company, company, connected):
    theirs = make_service(make_contract(make_account(other_company, "X", "X")), "Theirs")
    for method, path in (
        ("put", f"/services/{theirs.pk}/icb"),
        ("delete", f"/services/{theirs.pk}/icb"),
        ("post", f"/services/{theirs.pk}/sync"),
    ):
        body = {"module": "rmm", "billing_type": "workstations"} if method == "put" else None
        assert api(method, path, body).status_code == 404
    viewer = Api(make_user(company, "viewer@acme.test", role="Read-only"))
    assert viewer("post", f"/services/{service.pk}/sync").status_code == 403
    assert (
        viewer(
            "put", f"/services/{service.pk}/icb", {"module": "rmm", "billing_type": "workstations"}
        ).status_code
        == 403
    )
    assert viewer("get", "/sync-runs").status_code == 200


@pytest.mark.usefixtures("auto_review")
def test_sync_runs(api, service, connected, orgs, account, other_company):
    from icb.billing_sync.models import SyncRun

    orgs.mapped(account, workstations=3)
    # Turning ICB on syncs at once: a manual run.
    api("put", f"/services/{service.pk}/icb", {"module": "rmm", "billing_type": "workstations"})
    SyncRun.objects.create(company=other_company, trigger="nightly")
    page = api("get", "/sync-runs").json()
    assert page["count"] == 1
    run = page["items"][0]
    assert (run["trigger"], run["changed"], run["user"]) == ("manual", 1, "admin@acme.test")
    detail = api("get", f"/sync-runs/{run['id']}").json()
    [item] = detail["items"]
    assert (item["service_id"], item["status"], item["old_units"], item["new_units"]) == (
        service.pk,
        "changed",
        "10.00",
        "3.00",
    )
    theirs = SyncRun.objects.get(company=other_company)
    assert api("get", f"/sync-runs/{theirs.pk}").status_code == 404
    assert Decimal(api("get", f"/services/{service.pk}").json()["units"]) == 3


def test_the_services_of_a_run_are_paginated_and_filtered(
    api, contract, connected, orgs, account, other_company
):
    from django.utils import timezone

    from icb.billing_sync.dispatch import dispatch_due
    from icb.billing_sync.services import enable_icb
    from icb.contracts.models import Service
    from tests.billing_sync.helpers import run_group_tasks

    orgs.mapped(account, workstations=4)
    for i in range(5):
        enable_icb(
            service=make_service(contract, f"S{i}", units="4" if i == 0 else "0"),
            actor=None,
            module="rmm",
            billing_type="workstations",
        )
    unmapped = make_contract(make_account(contract.company, "No mapping", "NOMAP"))
    enable_icb(
        service=make_service(unmapped, "Lonely", units="2"),
        actor=None,
        module="rmm",
        billing_type="workstations",
    )
    Service.objects.update(next_sync_at=timezone.now())
    tasks = dispatch_due()
    run_group_tasks(*tasks)
    [run_id] = {task.run_id for task in tasks}
    detail = api("get", f"/sync-runs/{run_id}").json()
    assert (
        detail["changed"],
        detail["unchanged"],
        detail["mapping_incomplete"],
        detail["items_count"],
    ) == (4, 1, 1, 5)
    # Changes (history rows) first, then items; a page can hold both.
    first = api("get", f"/sync-runs/{run_id}/services?page_size=3").json()
    second = api("get", f"/sync-runs/{run_id}/services?page_size=3&page=2").json()
    assert (first["count"], first["pages"], len(first["items"]), len(second["items"])) == (
        5,
        2,
        3,
        2,
    )
    assert [(i["service"], i["status"]) for i in first["items"] + second["items"]] == [
        ("S1", "changed"),
        ("S2", "changed"),
        ("S3", "changed"),
        ("S4", "changed"),
        ("Lonely", "mapping_incomplete"),
    ]
    assert second["items"][0]["old_units"] == "0.00" and second["items"][0]["new_units"] == "4.00"
    assert [
        i["service"]
        for i in api("get", f"/sync-runs/{run_id}/services?status=mapping_incomplete").json()[
            "items"
        ]
    ] == ["Lonely"]
    assert api("get", f"/sync-runs/{run_id}/services?status=changed").json()["count"] == 4
    assert api("get", f"/sync-runs/{run_id}/services?status=error").json()["count"] == 0
    assert api("get", f"/sync-runs/{run_id}/services?status=nonsense").json()["count"] == 0
    assert api("get", f"/sync-runs/{run_id}/services?page=x").status_code == 422
    from icb.billing_sync.models import SyncRun

    theirs = SyncRun.objects.create(company=other_company, trigger="nightly")
    assert api("get", f"/sync-runs/{theirs.pk}/services").status_code == 404
