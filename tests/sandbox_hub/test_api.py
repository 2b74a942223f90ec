"""Protocol v1 API over real HTTP: modules, organizations, bulk usage."""

from __future__ import annotations

import httpx
import pytest

from sandbox_hub.data import newcomers


def all_pages(api: httpx.Client, module: str, limit: int) -> tuple[list[dict], int]:
    orgs: list[dict] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        response = api.get(f"/modules/{module}/organizations", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"organizations", "next_cursor"}
        assert len(body["organizations"]) <= limit
        orgs += body["organizations"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return orgs, pages


def query_all(api: httpx.Client, body: dict) -> tuple[list[dict], list[list[str]], int]:
    rows: list[dict] = []
    missing: list[list[str]] = []
    cursor = None
    pages = 0
    while True:
        response = api.post("/usage/query", json={**body, "cursor": cursor})
        assert response.status_code == 200, response.text
        page = response.json()
        assert page["module"] == body["module"]
        rows += page["usage"]
        missing.append(page["missing"])
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            return rows, missing, pages


def test_modules_and_billing_types(api):
    modules = api.get("/modules").json()["modules"]
    codes = [m["code"] for m in modules]
    assert {"rmm", "backup", "docs", "training", "email_security", "saas_backup"} <= set(codes)
    rmm = next(m for m in modules if m["code"] == "rmm")
    assert rmm["name"] == "RMM"
    assert {"code": "workstations", "name": "Desktop & Laptop", "unit": "device"} in rmm[
        "billing_types"
    ]


@pytest.mark.parametrize("limit", [7, 1000])
def test_organization_pages_cover_every_organization_once(api, sandbox, limit):
    orgs, pages = all_pages(api, "rmm", limit)
    joined = newcomers(sandbox.seed, "rmm", sandbox.today())
    assert len(orgs) == sandbox.organizations + len(joined)
    assert len({o["id"] for o in orgs}) == len(orgs)
    assert pages == -(-len(orgs) // limit)
    seen = set()
    for org in orgs:
        assert set(org) == {"id", "name", "parent_id", "status"}
        assert org["status"] in {"active", "inactive", "cancelled"}
        assert org["parent_id"] is None or org["parent_id"] in seen
        seen.add(org["id"])


def test_paging_goes_on_after_organizations_are_removed_between_pages(api, sandbox):
    everything, _ = all_pages(api, "docs", 1000)
    first = api.get("/modules/docs/organizations", params={"limit": 10}).json()
    on_first_page = {o["id"] for o in first["organizations"]}
    removed = [everything[3]["id"], everything[25]["id"]]  # one seen, one not yet
    for org_id in removed:
        for child in (o for o in everything if o["parent_id"] == org_id):
            removed.append(child["id"])
    for org_id in reversed(removed):  # children first
        sandbox.remove_organization("docs", org_id)
    rest = []
    cursor = first["next_cursor"]
    while cursor:
        page = api.get("/modules/docs/organizations", params={"cursor": cursor, "limit": 10}).json()
        rest += page["organizations"]
        cursor = page["next_cursor"]
    ids = [o["id"] for o in first["organizations"] + rest]
    expected = [o["id"] for o in everything if o["id"] in on_first_page or o["id"] not in removed]
    assert ids == expected


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"cursor": "not-a-cursor"}, 400, "invalid_cursor"),
        ({"limit": 0}, 400, "invalid_limit"),
        ({"limit": 5001}, 400, "invalid_limit"),
        ({"limit": "ten"}, 400, "invalid_limit"),
    ],
)
def test_organization_query_errors(api, params, status, code):
    response = api.get("/modules/rmm/organizations", params=params)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_unknown_module_is_404(api):
    response = api.get("/modules/nope/organizations")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_module"
    response = api.post("/usage/query", json={"module": "nope", "organization_ids": ["1"]})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_module"


def test_usage_pages_cover_each_organization_and_type_exactly_once(api, sandbox):
    orgs, _ = all_pages(api, "rmm", 1000)
    ids = [o["id"] for o in orgs]
    modules = api.get("/modules").json()["modules"]
    types = [bt["code"] for bt in next(m for m in modules if m["code"] == "rmm")["billing_types"]]
    rows, missing, pages = query_all(
        api, {"module": "rmm", "organization_ids": ids + ["no-such-org"], "limit": 37}
    )
    assert pages == -(-len(ids) * len(types) // 37)
    cells = [(r["organization_id"], r["billing_type"]) for r in rows]
    assert len(cells) == len(set(cells)) == len(ids) * len(types)
    assert set(cells) == {(i, t) for i in ids for t in types}
    assert all(m == ["no-such-org"] for m in missing)
    for row in rows:
        assert set(row) == {"organization_id", "billing_type", "quantity", "measured_at"}
        assert isinstance(row["quantity"], str)


def test_usage_for_chosen_billing_types_and_children_are_not_rolled_up(api, sandbox):
    orgs, _ = all_pages(api, "rmm", 1000)
    parent_id = next(o["parent_id"] for o in orgs if o["parent_id"])
    child_ids = [o["id"] for o in orgs if o["parent_id"] == parent_id]
    sandbox.set_quantity("rmm", parent_id, "servers", 5)
    for child_id in child_ids:
        sandbox.set_quantity("rmm", child_id, "servers", "2")
    response = api.post(
        "/usage/query",
        json={
            "module": "rmm",
            "organization_ids": [parent_id, *child_ids],
            "billing_types": ["servers"],
        },
    )
    body = response.json()
    assert body["missing"] == [] and body["next_cursor"] is None
    quantities = {r["organization_id"]: r["quantity"] for r in body["usage"]}
    assert quantities == {parent_id: "5", **dict.fromkeys(child_ids, "2")}


def test_quantity_set_through_the_controls_is_reported_with_its_time(api, sandbox):
    org_id = api.get("/modules/backup/organizations").json()["organizations"][3]["id"]
    before = sandbox.quantities("backup", org_id)
    assert set(before) == {"protected_devices", "agents", "offsite_storage_gb"}
    sandbox.set_quantity("backup", org_id, "offsite_storage_gb", "1.25")
    body = api.post(
        "/usage/query",
        json={
            "module": "backup",
            "organization_ids": [org_id],
            "billing_types": ["offsite_storage_gb"],
        },
    ).json()
    assert [r["quantity"] for r in body["usage"]] == ["1.25"]
    assert sandbox.quantities("backup", org_id)["offsite_storage_gb"] == "1.25"


def test_added_and_removed_organizations(api, sandbox):
    parent = api.get("/modules/saas_backup/organizations").json()["organizations"][0]
    added = sandbox.add_organization(
        "saas_backup",
        "Brand New Customer LLC",
        id="new-1",
        parent_id=parent["id"],
        quantities={"licensed_seats": 14},
    )
    assert added["id"] == "new-1"
    orgs, _ = all_pages(api, "saas_backup", 1000)
    assert orgs[-1] == {
        "id": "new-1",
        "name": "Brand New Customer LLC",
        "parent_id": parent["id"],
        "status": "active",
    }
    query = {"module": "saas_backup", "organization_ids": ["new-1"]}
    assert api.post("/usage/query", json=query).json()["usage"][0]["quantity"] == "14"

    sandbox.remove_organization("saas_backup", "new-1")
    body = api.post("/usage/query", json=query).json()
    assert body["usage"] == [] and body["missing"] == ["new-1"]
    assert "new-1" not in {o["id"] for o in all_pages(api, "saas_backup", 1000)[0]}


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"module": "rmm", "organization_ids": []}, 400, "invalid_organization_ids"),
        (
            {"module": "rmm", "organization_ids": [str(i) for i in range(1001)]},
            400,
            "invalid_organization_ids",
        ),
        ({"module": "rmm", "organization_ids": [1, 2]}, 400, "invalid_organization_ids"),
        (
            {"module": "rmm", "organization_ids": ["1"], "billing_types": ["gpus"]},
            400,
            "unknown_billing_type",
        ),
        (
            {"module": "rmm", "organization_ids": ["1"], "billing_types": []},
            400,
            "invalid_billing_types",
        ),
        (
            {"module": "rmm", "organization_ids": ["1"], "cursor": "eyJ2IjoxfQ"},
            400,
            "invalid_cursor",
        ),
        ({"module": "rmm", "organization_ids": ["1"], "limit": 10001}, 400, "invalid_limit"),
        ({"module": "rmm", "organization_ids": ["1"], "colour": "red"}, 400, "invalid_request"),
        ({"organization_ids": ["1"]}, 400, "invalid_request"),
    ],
)
def test_usage_query_errors(api, body, status, code):
    response = api.post("/usage/query", json=body)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_usage_cursor_of_another_query_is_refused(api):
    ids = [o["id"] for o in api.get("/modules/rmm/organizations").json()["organizations"]]
    page = api.post("/usage/query", json={"module": "rmm", "organization_ids": ids, "limit": 5})
    cursor = page.json()["next_cursor"]
    other = api.post(
        "/usage/query", json={"module": "rmm", "organization_ids": ids[1:], "cursor": cursor}
    )
    assert other.status_code == 400
    assert other.json()["error"]["code"] == "invalid_cursor"


def test_not_json_is_400(api):
    response = api.post(
        "/usage/query", content=b"{oops", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


def test_request_counters_tell_one_bulk_call_from_many(api, sandbox):
    sandbox.reset_request_counts()
    ids = [o["id"] for o in api.get("/modules/edr/organizations").json()["organizations"]]
    api.post("/usage/query", json={"module": "edr", "organization_ids": ids})
    counts = sandbox.request_counts()
    assert counts["usage"] == 1 and counts["organizations"] == 1 and counts["modules"] == 0
