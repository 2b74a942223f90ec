"""The demo's customers at the hub: listed as each tool spells them, sites as children,
and never mistaken for a generated customer. The product's demo reads the same file."""

from __future__ import annotations

import json

import httpx

from sandbox_hub import HubConfig, create_app
from sandbox_hub.data import HubData
from sandbox_hub.names import DEMO_FILE, customer_pool, demo_customers, looks_like_a_demo_customer


def test_the_demo_customers_are_listed_as_their_tools_spell_them():
    data = HubData(seed=42, organizations=40)
    harbor = next(c for c in demo_customers() if c.name == "Harbor Dental Group")
    assert harbor.hub["backup"].name == "Harbor Dental Group, Inc."
    assert "HARBOR DENTAL \u2013 Boston Office" in harbor.hub["rmm"].sites
    for customer in demo_customers():
        for module, listed in customer.hub.items():
            orgs = data.list_organizations(module)["organizations"]
            by_name = {o["name"]: o for o in orgs}
            parent = by_name[listed.name]
            assert parent["parent_id"] is None and parent["status"] == listed.status
            for site in listed.sites:
                assert by_name[site]["parent_id"] == parent["id"]
            matching = [o for o in orgs if o["name"] == listed.name]
            assert len(matching) == 1, listed.name  # one organization by that name
            quantities = data.get_quantities(module, parent["id"])["quantities"]
            if listed.status == "active":
                assert any(value != "0" for value in quantities.values())


def test_generated_names_never_look_like_a_demo_customer():
    names = [c.name for c in customer_pool(42, 3000)]
    assert not [n for n in names if looks_like_a_demo_customer(n)]
    assert looks_like_a_demo_customer("Harbor Dental Group LLC")
    assert looks_like_a_demo_customer("HARBOR DENTAL \u2013 Boston Office")
    assert not looks_like_a_demo_customer("Harbor Golf Club")


def test_the_file_says_what_the_product_needs():
    """``icb demo_data`` reads name, code, city, region, employees, active and mapped."""
    from importlib import resources

    payload = json.loads(resources.files("sandbox_hub").joinpath(DEMO_FILE).read_text())
    codes = set()
    for item in payload["customers"]:
        assert {"name", "code", "city", "region", "employees", "active", "hub", "mapped"} <= set(
            item
        )
        assert set(item["mapped"]) <= set(item["hub"])
        codes.add(item["code"])
    assert len(codes) == len(payload["customers"])
    mapped = [i for i in payload["customers"] if i["mapped"]]
    unmapped = [i for i in payload["customers"] if not i["mapped"]]
    assert len(mapped) >= 2 and len(unmapped) >= 2  # some in place, some left to the user


def test_a_small_hub_still_lists_whole_customers():
    data = HubData(seed=1, organizations=5)
    orgs = data.list_organizations("rmm")["organizations"]
    ids = {o["id"] for o in orgs}
    assert all(o["parent_id"] is None or o["parent_id"] in ids for o in orgs)


def test_the_hub_address_answers_with_a_page_about_the_sandbox():
    client = create_app(HubConfig(test_controls=True)).test_client()
    page = client.get("/")
    assert page.status_code == 200 and page.content_type.startswith("text/html")
    text = page.get_data(as_text=True)
    assert "a sandbox hub" in text
    assert "<code>demo</code> with password <code>demo</code>" in text
    assert "docs/hub-protocol.md" in text and "/_sandbox/today" in text
    plain = create_app(HubConfig(password="s3cret")).test_client().get("/").get_data(as_text=True)
    assert "s3cret" not in plain and "the password the hub was started with" in plain
    assert "Off: start the hub with <code>--test-controls</code>" in plain


def test_the_page_over_http(sandbox):
    response = httpx.get(sandbox.url + "/")
    assert response.status_code == 200 and "Integration Hub" in response.text
