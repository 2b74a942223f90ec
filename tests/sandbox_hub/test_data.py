"""Generated data: deterministic, realistic in shape, large sizes handled."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest

from sandbox_hub.data import CATALOGUE, NEWCOMERS_FROM, HubData
from sandbox_hub.errors import HubError
from sandbox_hub.names import demo_customers

BEFORE_NEWCOMERS = NEWCOMERS_FROM - timedelta(days=1)


def demo_names() -> set[str]:
    return {
        name
        for customer in demo_customers()
        for org in customer.hub.values()
        for name in (org.name, *org.sites)
    }


REQUIRED_MODULES = {"rmm", "backup", "docs", "training", "email_security", "saas_backup"}


def all_organizations(data: HubData, module: str) -> list[dict]:
    page = data.list_organizations(module, limit=5000)
    assert page["next_cursor"] is None
    return page["organizations"]


def snapshot(data: HubData) -> dict:
    result = {}
    for module in data.modules():
        orgs = all_organizations(data, module["code"])
        usage = data.query_usage(module["code"], [o["id"] for o in orgs], limit=10000)
        result[module["code"]] = (
            orgs,
            [(u["organization_id"], u["billing_type"], u["quantity"]) for u in usage["usage"]],
        )
    return result


def test_same_seed_same_data_other_seed_other_data():
    first = snapshot(HubData(seed=11, organizations=50))
    again = snapshot(HubData(seed=11, organizations=50))
    other = snapshot(HubData(seed=12, organizations=50))
    assert first == again
    assert first["rmm"][0] != other["rmm"][0]
    assert first["backup"][1] != other["backup"][1]


def test_catalogue_has_the_modules_msps_know():
    data = HubData(seed=1, organizations=5)
    modules = {m["code"]: m for m in data.modules()}
    assert REQUIRED_MODULES <= set(modules)
    rmm_types = {bt["code"] for bt in modules["rmm"]["billing_types"]}
    assert {"workstations", "servers", "network_devices", "printers"} <= rmm_types
    backup_types = {bt["code"] for bt in modules["backup"]["billing_types"]}
    assert {"protected_devices", "agents", "offsite_storage_gb"} <= backup_types
    for module in modules.values():
        for bt in module["billing_types"]:
            assert set(bt) == {"code", "name", "unit"} and all(bt.values())


@pytest.mark.parametrize("module", [d.code for d in CATALOGUE])
def test_exact_count_unique_ids_and_parents_before_children(module):
    # Before the first newcomer joined: exactly the number asked for.
    orgs = all_organizations(HubData(seed=5, organizations=300, today=BEFORE_NEWCOMERS), module)
    assert len(orgs) == 300
    assert len({o["id"] for o in orgs}) == 300
    seen: set[str] = set()
    for org in orgs:
        assert isinstance(org["id"], str) and org["name"]
        if org["parent_id"] is not None:
            assert org["parent_id"] in seen, "a child came before its parent"
        seen.add(org["id"])


def test_realistic_shape_of_organizations():
    demo = demo_names()
    orgs = all_organizations(HubData(seed=5, organizations=400), "rmm")
    orgs = [o for o in orgs if o["name"] not in demo]  # spelt as their tools spell them
    top = [o for o in orgs if o["parent_id"] is None]
    children = Counter(o["parent_id"] for o in orgs if o["parent_id"])
    share_with_children = len(children) / len(top)
    assert 0.10 <= share_with_children <= 0.26
    assert max(children.values()) <= 3
    by_id = {o["id"]: o for o in orgs}
    for child_id in (o["id"] for o in orgs if o["parent_id"]):
        child = by_id[child_id]
        assert child["name"].startswith(by_id[child["parent_id"]]["name"] + " \u2013 ")
    statuses = Counter(o["status"] for o in orgs)
    assert set(statuses) == {"active", "inactive", "cancelled"}
    assert statuses["active"] > 0.8 * len(orgs)


def test_the_same_customers_appear_in_several_modules():
    data = HubData(seed=9, organizations=80)
    names = {
        m["code"]: {o["name"] for o in all_organizations(data, m["code"])} for m in data.modules()
    }
    shared = names["rmm"] & names["backup"] & names["docs"]
    assert len(shared) >= 10
    ids_rmm = {o["name"]: o["id"] for o in all_organizations(data, "rmm")}
    ids_backup = {o["name"]: o["id"] for o in all_organizations(data, "backup")}
    name = sorted(shared)[0]
    assert ids_rmm[name] != ids_backup[name]


def test_quantities_are_decimal_strings_of_the_right_kind():
    data = HubData(seed=4, organizations=120)
    for module in ("rmm", "backup", "training"):
        orgs = all_organizations(data, module)
        usage = data.query_usage(module, [o["id"] for o in orgs], limit=10000)["usage"]
        for row in usage:
            value = Decimal(row["quantity"])
            assert value >= 0
            if row["billing_type"] == "offsite_storage_gb":
                assert "." in row["quantity"]
            else:
                assert row["quantity"].isdigit()
            if row["billing_type"] == "phishing_enabled":
                assert row["quantity"] in {"0", "1"}
            assert row["measured_at"].endswith("Z")
    rmm = all_organizations(data, "rmm")
    for org in rmm[:50]:
        q = data.get_quantities("rmm", org["id"])["quantities"]
        assert int(q["workstations"]) == int(q["desktops"]) + int(q["laptops"])
        assert int(q["total_devices"]) >= int(q["workstations"]) + int(q["servers"])


def test_a_hundred_thousand_organizations_per_module():
    data = HubData(seed=42, organizations=100_000)
    data.generate_all()
    page = data.list_organizations("edr", limit=5000)
    assert len(page["organizations"]) == 5000 and page["next_cursor"]
    last = data.list_organizations("rmm", cursor=None, limit=1)["organizations"][0]
    ids = [o["id"] for o in page["organizations"][:1000]]
    usage = data.query_usage("edr", ids)
    assert len(usage["usage"]) == 1000 and not usage["missing"]
    assert last["parent_id"] is None


def test_set_add_and_remove_through_the_data_layer():
    data = HubData(seed=2, organizations=10)
    org = all_organizations(data, "docs")[0]
    data.set_quantity("docs", org["id"], "users", "12.5")
    assert data.get_quantities("docs", org["id"])["quantities"] == {"users": "12.5"}
    with pytest.raises(HubError) as error:
        data.set_quantity("docs", org["id"], "users", "lots")
    assert error.value.code == "invalid_quantity"
    added = data.add_organization("docs", "New Customer LLC", quantities={"users": 3})
    assert all_organizations(data, "docs")[-1]["id"] == added["id"]
    data.remove_organization("docs", added["id"])
    assert added["id"] not in {o["id"] for o in all_organizations(data, "docs")}
