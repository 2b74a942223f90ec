import pytest
from django.test import Client

from icb.mapping.models import DefaultMappingColumns, Mapping, MappingChange, MappingColumns
from tests.clients import bearer
from tests.factories import make_account, make_company, make_module, make_org, make_role, make_user

GRID = "/api/v1/mappings"
CHANGES = "/api/v1/mappings/changes"
COLUMNS = "/api/v1/mappings/columns"


def post(client, url, data):
    return client.post(url, data, content_type="application/json")


def put(client, url, data):
    return client.put(url, data, content_type="application/json")


def account_url(account):
    return f"/api/v1/accounts/{account.pk}/mappings"


def test_save_changes_and_read_them_back(api, orgs, accounts):
    harbor = accounts["harbor"]
    answer = post(
        api,
        CHANGES,
        {"changes": [{"account_id": harbor.pk, "module": "rmm", "add": ["R-100", "R-101"]}]},
    )
    assert answer.status_code == 200, answer.content
    item = answer.json()["items"][0]
    assert item["account"] == {
        "id": harbor.pk,
        "name": "Harbor Dental Group",
        "code": "HDG",
        "active": True,
    }
    assert [o["id"] for o in item["mappings"]["rmm"]] == ["R-100", "R-101"]
    assert item["mappings"]["rmm"][1] == {
        "id": "R-101",
        "name": "Harbor Dental East",
        "parent_id": "R-100",
        "removed": False,
        "status": "active",
    }
    mine = api.get(account_url(harbor)).json()
    assert set(mine) == {"rmm", "backup", "docs", "phish"} and mine["backup"] == []
    assert [o["id"] for o in mine["rmm"]] == ["R-100", "R-101"]


def test_put_account_mappings_replaces_the_modules_named(api, orgs, accounts):
    harbor = accounts["harbor"]
    assert put(api, account_url(harbor), {"rmm": ["R-100"], "backup": ["B-1"]}).status_code == 200
    answer = put(api, account_url(harbor), {"rmm": ["R-102"]})
    assert answer.status_code == 200
    assert [o["id"] for o in answer.json()["rmm"]] == ["R-102"]
    assert [o["id"] for o in answer.json()["backup"]] == ["B-1"]


@pytest.mark.parametrize(
    "body,status,field",
    [
        ({"nope": ["R-100"]}, 422, "nope"),
        ({"rmm": ["X-9"]}, 422, "rmm"),
        ({"backup": ["R-100"]}, 422, "backup"),
        ({"rmm": "R-100"}, 422, "rmm"),
        ({"rmm": ["R-300"]}, 422, "rmm"),
    ],
)
def test_put_account_mappings_bad_input(api, orgs, accounts, body, status, field):
    answer = put(api, account_url(accounts["harbor"]), body)
    assert answer.status_code == status, answer.content
    assert field in answer.json()["errors"]
    assert Mapping.objects.count() == 0


def test_unknown_or_foreign_account_is_404(api, orgs, accounts):
    rival = make_account(make_company("Rival MSP"), "Rival Client", "RC")
    for account_id in (rival.pk, 999999):
        assert api.get(f"/api/v1/accounts/{account_id}/mappings").status_code == 404
        assert (
            put(api, f"/api/v1/accounts/{account_id}/mappings", {"rmm": ["R-100"]}).status_code
            == 404
        )


def test_the_same_organization_for_another_account_is_409_naming_it(api, orgs, accounts):
    post(
        api,
        CHANGES,
        {"changes": [{"account_id": accounts["harbor"].pk, "module": "rmm", "add": ["R-100"]}]},
    )
    answer = post(
        api,
        CHANGES,
        {
            "changes": [
                {"account_id": accounts["cedar"].pk, "module": "rmm", "add": ["R-200"]},
                {"account_id": accounts["old"].pk, "module": "rmm", "add": ["R-100"]},
            ]
        },
    )
    assert answer.status_code == 409 and answer.json()["code"] == "already_mapped"
    assert "Harbor Dental Group" in answer.json()["detail"]
    assert "changes.1.add" in answer.json()["errors"]
    assert not Mapping.objects.filter(account=accounts["cedar"]).exists()


def test_two_accounts_for_one_organization_in_one_request_is_422(api, orgs, accounts):
    answer = post(
        api,
        CHANGES,
        {
            "changes": [
                {"account_id": accounts["harbor"].pk, "module": "rmm", "add": ["R-200"]},
                {"account_id": accounts["cedar"].pk, "module": "rmm", "add": ["R-200"]},
            ]
        },
    )
    assert answer.status_code == 422 and "changes.1.add" in answer.json()["errors"]
    assert Mapping.objects.count() == 0


@pytest.mark.parametrize(
    "body,field",
    [
        ({}, "changes"),
        ({"changes": "x"}, "changes"),
        ({"changes": [{"module": "rmm"}]}, "changes.0.account_id"),
        ({"changes": [{"account_id": "abc", "module": "rmm"}]}, "changes.0.account_id"),
        ({"changes": [{"account_id": 1, "module": "rmm", "add": [1]}]}, "changes.0.add.0"),
        (
            {"changes": [{"account_id": 999999, "module": "rmm", "add": ["R-100"]}]},
            "changes.0.account_id",
        ),
        (
            {"changes": [{"account_id": "ACC", "module": "nope", "add": ["R-100"]}]},
            "changes.0.module",
        ),
    ],
)
def test_malformed_change_bodies_are_422_naming_the_field(api, orgs, accounts, body, field):
    for change in body.get("changes", []) if isinstance(body.get("changes"), list) else []:
        if change.get("account_id") == "ACC":
            change["account_id"] = accounts["harbor"].pk
    answer = post(api, CHANGES, body)
    assert answer.status_code == 422, answer.content
    assert field in answer.json()["errors"], answer.json()
    assert Mapping.objects.count() == 0


def test_not_json_is_a_4xx_not_a_500(api, orgs):
    answer = api.post(CHANGES, "{not json", content_type="application/json")
    assert 400 <= answer.status_code < 500


def test_grid_filters_paginates_and_limits_columns(api, company, orgs, accounts):
    post(
        api,
        CHANGES,
        {"changes": [{"account_id": accounts["harbor"].pk, "module": "rmm", "add": ["R-100"]}]},
    )
    grid = api.get(GRID, {"modules": "rmm,backup"}).json()
    assert grid["modules"] == ["rmm", "backup"]
    assert [i["account"]["code"] for i in grid["items"]] == ["CLP", "HDG", "OLD"]
    assert grid["items"][1]["mappings"] == {
        "rmm": [
            {
                "id": "R-100",
                "name": "Harbor Dental",
                "parent_id": None,
                "removed": False,
                "status": "active",
            }
        ],
        "backup": [],
    }
    assert (grid["count"], grid["page"], grid["pages"], grid["page_size"]) == (3, 1, 1, 50)
    assert [i["account"]["code"] for i in api.get(GRID, {"name": "harbor"}).json()["items"]] == [
        "HDG"
    ]
    assert [i["account"]["code"] for i in api.get(GRID, {"code": "cl"}).json()["items"]] == ["CLP"]
    assert [i["account"]["code"] for i in api.get(GRID, {"active": "false"}).json()["items"]] == [
        "OLD"
    ]
    # default columns: the most mapped module first, then RMM, backup, documentation
    assert api.get(GRID).json()["modules"] == ["rmm", "backup", "docs"]


def test_grid_refuses_a_fourth_or_unknown_column(api, orgs):
    answer = api.get(GRID, {"modules": "rmm,backup,docs,phish"})
    assert answer.status_code == 422 and "modules" in answer.json()["errors"]
    answer = api.get(GRID, {"modules": "rmm,nope"})
    assert answer.status_code == 422 and "nope" in answer.json()["detail"]


def test_grid_query_count_does_not_grow_with_rows(
    api, company, modules, django_assert_max_num_queries
):
    rmm = modules["rmm"]
    for i in range(55):
        account = make_account(company, f"Client {i:03}", f"C{i:03}")
        org = make_org(rmm, f"O-{i}", f"Org {i}")
        Mapping.objects.create(company=company, account=account, module=rmm, organization=org)
    # token lookup and its last-used update, modules, the user's columns, the company's
    # default and the mapping counts (for the default columns), count, page, mappings
    with django_assert_max_num_queries(10):
        answer = api.get(GRID)
    assert len(answer.json()["items"]) == 50


def test_columns_are_stored_per_user(api, admin_user, modules):
    assert api.get(COLUMNS).json() == {"modules": ["rmm", "backup", "docs"]}
    assert put(api, COLUMNS, {"modules": ["rmm"]}).json() == {"modules": ["rmm"]}
    assert api.get(COLUMNS).json() == {"modules": ["rmm"]}
    assert api.get(GRID).json()["modules"] == ["rmm"]
    answer = put(api, COLUMNS, {"modules": ["rmm", "backup", "docs", "phish"]})
    assert answer.status_code == 422 and "modules" in answer.json()["errors"]
    assert MappingColumns.objects.get(user=admin_user).module_codes == ["rmm"]


def test_an_administrator_sets_the_companys_default_columns(api, company, modules):
    default = "/api/v1/mappings/columns/default"
    assert api.get(default).json() == {"modules": ["rmm", "backup", "docs"], "chosen": False}
    answer = put(api, default, {"modules": ["phish", "rmm"]})
    assert answer.status_code == 200
    assert answer.json() == {"modules": ["phish", "rmm"], "chosen": True}
    # every user who chose no columns of their own sees them, a new one too
    viewer = make_user(
        company, "viewer@acme.test", role=make_role(company, "Viewer", hub_settings="view")
    )
    as_viewer = bearer(Client(), viewer)
    assert as_viewer.get(COLUMNS).json() == {"modules": ["phish", "rmm"]}
    assert as_viewer.get(GRID).json()["modules"] == ["phish", "rmm"]
    # a user's own choice still wins, and choosing none goes back to the default
    assert put(as_viewer, COLUMNS, {"modules": ["docs"]}).status_code == 200
    assert as_viewer.get(GRID).json()["modules"] == ["docs"]
    assert put(as_viewer, COLUMNS, {"modules": []}).status_code == 200
    assert as_viewer.get(GRID).json()["modules"] == ["phish", "rmm"]
    # only an administrator sets the default; the rules of a user's columns apply
    refused = put(as_viewer, default, {"modules": ["docs"]})
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    too_many = put(api, default, {"modules": ["rmm", "backup", "docs", "phish"]})
    assert too_many.status_code == 422 and "modules" in too_many.json()["errors"]
    assert DefaultMappingColumns.objects.get(company=company).module_codes == ["phish", "rmm"]
    # none: back to the most mapped modules
    assert put(api, default, {"modules": []}).json() == {
        "modules": ["rmm", "backup", "docs"],
        "chosen": False,
    }


def test_picker_endpoint_tells_where_an_organization_is_mapped(api, orgs, accounts):
    post(
        api,
        CHANGES,
        {"changes": [{"account_id": accounts["cedar"].pk, "module": "rmm", "add": ["R-101"]}]},
    )
    answer = api.get("/api/v1/mappings/organizations", {"module": "rmm", "search": "Harbor"})
    items = answer.json()["items"]
    assert [(i["id"], i["depth"]) for i in items] == [("R-100", 0), ("R-101", 1), ("R-102", 1)]
    assert items[1]["mapped_to"]["name"] == "Cedar Law Partners"
    assert api.get("/api/v1/mappings/organizations", {"module": "nope"}).status_code == 404


def test_change_history(api, orgs, accounts, admin_user):
    harbor = accounts["harbor"]
    post(api, CHANGES, {"changes": [{"account_id": harbor.pk, "module": "rmm", "add": ["R-100"]}]})
    post(
        api, CHANGES, {"changes": [{"account_id": harbor.pk, "module": "rmm", "remove": ["R-100"]}]}
    )
    page = api.get("/api/v1/mapping-changes", {"account_id": harbor.pk}).json()
    assert page["count"] == 2
    assert [(c["action"], c["organization_id"], c["user"]) for c in page["items"]] == [
        ("removed", "R-100", admin_user.email),
        ("added", "R-100", admin_user.email),
    ]
    assert {(c["module"], c["module_name"]) for c in page["items"]} == {("rmm", "RMM")}
    assert MappingChange.objects.count() == 2


def test_view_users_read_but_cannot_write(client, viewer, orgs, accounts):
    api = bearer(client, viewer)
    assert api.get(GRID).status_code == 200
    assert api.get(account_url(accounts["harbor"])).status_code == 200
    assert (
        post(
            api,
            CHANGES,
            {"changes": [{"account_id": accounts["harbor"].pk, "module": "rmm", "add": ["R-100"]}]},
        ).status_code
        == 403
    )
    assert put(api, account_url(accounts["harbor"]), {"rmm": ["R-100"]}).status_code == 403
    assert Mapping.objects.count() == 0


def test_modify_users_save(client, editor, orgs, accounts):
    api = bearer(client, editor)
    answer = post(
        api,
        CHANGES,
        {"changes": [{"account_id": accounts["harbor"].pk, "module": "rmm", "add": ["R-100"]}]},
    )
    assert answer.status_code == 200


def test_no_permission_is_403_everywhere(client, outsider, orgs, accounts):
    api = bearer(client, outsider)
    for url in (
        GRID,
        COLUMNS,
        account_url(accounts["harbor"]),
        "/api/v1/mapping-changes",
        "/api/v1/mappings/organizations?module=rmm",
    ):
        assert api.get(url).status_code == 403, url
    assert post(api, CHANGES, {"changes": []}).status_code == 403
    assert put(api, COLUMNS, {"modules": []}).status_code == 403


def test_session_writes_need_the_csrf_token(client, admin_user, orgs, accounts):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(admin_user)
    answer = post(
        browser,
        CHANGES,
        {"changes": [{"account_id": accounts["harbor"].pk, "module": "rmm", "add": ["R-100"]}]},
    )
    assert answer.status_code == 403
    assert Mapping.objects.count() == 0


def test_another_companys_module_is_unknown(api, orgs, accounts):
    make_module(make_company("Rival MSP"), "rival", "Rival RMM")
    answer = post(
        api,
        CHANGES,
        {"changes": [{"account_id": accounts["harbor"].pk, "module": "rival", "add": ["X"]}]},
    )
    assert answer.status_code == 422 and "changes.0.module" in answer.json()["errors"]


@pytest.mark.parametrize(
    "method,url,body",
    [
        ("post", CHANGES, {"changes": [{"account_id": 2**63, "module": "rmm", "add": ["R-100"]}]}),
        ("post", CHANGES, {"changes": [{"account_id": 1, "module": "r\x00", "add": ["R-100"]}]}),
        (
            "post",
            CHANGES,
            {"changes": [{"account_id": "HARBOR", "module": "rmm", "add": ["R\x00"]}]},
        ),
        ("put", "/api/v1/accounts/HARBOR/mappings", {"r\x00": ["R-100"]}),
        ("put", "/api/v1/accounts/HARBOR/mappings", {"rmm": ["R\x00"]}),
        ("put", "/api/v1/accounts/99999999999999999999/mappings", {"rmm": ["R-100"]}),
        ("put", COLUMNS, {"modules": ["r\x00"]}),
        ("get", GRID + "?modules=r%00", None),
        ("get", GRID + "?name=a%00&code=b%00", None),
        ("get", "/api/v1/mappings/organizations?module=r%00", None),
        ("get", "/api/v1/mappings/organizations?module=rmm&search=a%00", None),
        ("get", "/api/v1/mapping-changes?account_id=99999999999999999999", None),
    ],
)
def test_hostile_input_is_a_4xx_never_a_500(api, orgs, accounts, method, url, body):
    harbor = accounts["harbor"].pk
    url = url.replace("HARBOR", str(harbor))
    if body and "changes" in body and body["changes"][0]["account_id"] == "HARBOR":
        body["changes"][0]["account_id"] = harbor
    if method == "get":
        answer = api.get(url)
    else:
        answer = getattr(api, method)(url, body, content_type="application/json")
    assert answer.status_code < 500, answer.content[:300]
    assert Mapping.objects.count() == 0


def test_mapping_changes_page_newest_first_to_the_last_page(api, accounts, admin_user, company):
    """The pages of the change list (read by their ids, then the page's rows) cover every
    change once, newest first, the ties of one instant in id order, to the last page."""
    from datetime import UTC, datetime, timedelta

    start = datetime(2026, 3, 1, tzinfo=UTC)
    MappingChange.objects.bulk_create(
        MappingChange(
            company=company,
            account=accounts["harbor" if n % 2 else "cedar"],
            module_code="rmm",
            organization_external_id=f"R-{n}",
            organization_name=f"Org {n}",
            action="added",
            user=admin_user,
            changed_at=start + timedelta(minutes=n // 3),  # three changes an instant
        )
        for n in range(25)
    )
    pages = [
        api.get("/api/v1/mapping-changes", {"page": n, "page_size": 10}).json() for n in (1, 2, 3)
    ]
    assert [(p["count"], p["page"], p["pages"]) for p in pages] == [(25, n, 3) for n in (1, 2, 3)]
    listed = [c["organization_id"] for p in pages for c in p["items"]]
    newest_first = MappingChange.objects.order_by("-changed_at", "-id")
    assert listed == list(newest_first.values_list("organization_external_id", flat=True))
    assert pages[2]["items"][-1]["account_name"] == "Cedar Law Partners"  # R-0, the oldest
    past_the_end = api.get("/api/v1/mapping-changes", {"page": 99, "page_size": 10}).json()
    assert past_the_end["page"] == 3 and past_the_end["items"] == pages[2]["items"]
