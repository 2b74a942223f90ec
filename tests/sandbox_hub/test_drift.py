"""The data drifts from day to day as a function of (seed, day): devices added and
retired, seats dropped, new customers joining; the test controls' changes stay."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from sandbox_hub.data import NEWCOMERS_FROM, HubData, newcomers

DAY = date(2026, 11, 27)


def quantities(data: HubData, module: str) -> dict[tuple[str, str], str]:
    orgs = data.list_organizations(module, limit=5000)["organizations"]
    rows = data.query_usage(module, [o["id"] for o in orgs], limit=10000)["usage"]
    return {(r["organization_id"], r["billing_type"]): r["quantity"] for r in rows}


def days(first: date, count: int):
    return [first + timedelta(days=n) for n in range(count)]


def test_the_same_seed_and_day_give_the_same_data_another_day_other_quantities():
    first = HubData(seed=3, organizations=60, today=DAY)
    again = HubData(seed=3, organizations=60, today=DAY)
    for module in ("rmm", "backup", "saas_backup"):
        assert quantities(first, module) == quantities(again, module)
    again.set_today(DAY + timedelta(days=1))
    assert quantities(first, "rmm") != quantities(again, "rmm")
    # Yesterday's data comes back for yesterday: nothing accumulates.
    again.set_today(DAY)
    assert quantities(first, "rmm") == quantities(again, "rmm")


def test_devices_are_added_and_retired_and_the_counts_stay_consistent():
    data = HubData(seed=42, organizations=40)
    series = []
    for day in days(DAY, 30):
        data.set_today(day)
        series.append(quantities(data, "rmm"))
        orgs = {org_id for org_id, _ in series[-1]}
        for org_id in orgs:
            q = {
                bt: int(series[-1][(org_id, bt)])
                for bt in (
                    "workstations",
                    "desktops",
                    "laptops",
                    "servers",
                    "network_devices",
                    "printers",
                    "esxi_hosts",
                    "total_devices",
                )
            }
            assert q["workstations"] == q["desktops"] + q["laptops"]
            assert (
                q["total_devices"]
                == q["workstations"]
                + q["servers"]
                + q["network_devices"]
                + q["printers"]
                + q["esxi_hosts"]
            )
    ups = downs = 0
    changed_days = 0
    for before, after in zip(series, series[1:], strict=False):
        moved = [
            k for k in after if k in before and k[1] == "workstations" and after[k] != before[k]
        ]
        changed_days += bool(moved)
        ups += sum(int(after[k]) > int(before[k]) for k in moved)
        downs += sum(int(after[k]) < int(before[k]) for k in moved)
    # A newcomer sees the nightly sync change units: some workstation count moves daily.
    assert changed_days == len(series) - 1
    assert ups > 10 and downs > 10


def test_a_seat_count_drops_now_and_then():
    data = HubData(seed=42, organizations=40)
    previous = None
    drops = []
    for day in days(DAY, 120):
        data.set_today(day)
        seats = quantities(data, "saas_backup")
        if previous:
            drops += [
                (int(previous[k]) - int(seats[k])) / int(previous[k])
                for k in seats
                if k in previous and int(previous[k]) >= 20
            ]
        previous = seats
    assert max(drops) >= 0.08  # a customer that let a tenth of its seats go overnight


def test_new_customers_join_now_and_then_and_stay():
    module = "rmm"
    assert newcomers(42, module, NEWCOMERS_FROM - timedelta(days=1)) == []
    joined = newcomers(42, module, date(2027, 3, 1))
    assert 4 <= len(joined) <= 6  # about one every four weeks
    gaps = [(b - a).days for a, b in zip(joined, joined[1:], strict=False)]
    assert all(1 <= gap <= 55 for gap in gaps)
    first_day = joined[1]
    data = HubData(seed=42, organizations=40, today=first_day - timedelta(days=1))
    before = data.list_organizations(module)["organizations"]
    data.set_today(first_day)
    after = data.list_organizations(module)["organizations"]
    assert after[: len(before)] == before and len(after) == len(before) + 1
    newcomer = after[-1]
    assert newcomer["parent_id"] is None and newcomer["status"] == "active"
    # The same customer, id and all, on any later day.
    data.set_today(date(2027, 6, 1))
    assert newcomer in data.list_organizations(module)["organizations"]
    assert data.get_quantities(module, newcomer["id"])["quantities"]["total_devices"] != "0"


def test_changes_made_by_the_controls_stay_as_made_on_other_days():
    data = HubData(seed=42, organizations=40, today=DAY)
    orgs = data.list_organizations("rmm")["organizations"]
    leaf = next(o for o in orgs if o["parent_id"] is not None)
    target = orgs[-1]["id"]
    data.set_quantity("rmm", target, "servers", "23")
    added = data.add_organization("rmm", "Zephyr Analytics Inc", quantities={"laptops": 4})
    data.remove_organization("rmm", leaf["id"])
    for day in days(DAY + timedelta(days=1), 10):
        data.set_today(day)
        assert data.get_quantities("rmm", target)["quantities"]["servers"] == "23"
        assert data.get_quantities("rmm", added["id"])["quantities"]["laptops"] == "4"
        listed = {o["id"] for o in data.list_organizations("rmm")["organizations"]}
        assert leaf["id"] not in listed and added["id"] in listed
    # Another organization added by a control gets an id of its own.
    other = data.add_organization("rmm", "Second Co")
    assert other["id"] != added["id"]


def test_the_today_control(app_client):
    start = app_client.get("/_sandbox/today").get_json()
    assert start["pinned"] is False
    first = app_client.get("/_sandbox/quantities?module=rmm&organization_id=x")
    assert first.status_code == 404
    moved = app_client.put("/_sandbox/today", json={"days": 1}).get_json()
    expected = date.fromisoformat(start["today"]) + timedelta(days=1)
    assert moved == {"today": expected.isoformat(), "pinned": True}
    assert app_client.put("/_sandbox/today", json={"date": "2027-01-05"}).get_json()["today"] == (
        "2027-01-05"
    )
    assert app_client.put("/_sandbox/today", json={"date": None}).get_json() == start
    for body in (
        {"date": "tomorrow"},
        {"days": "1"},
        {"days": True},
        {},
        {"date": None, "days": 1},
    ):
        response = app_client.put("/_sandbox/today", json=body)
        assert response.status_code == 400, body
        assert response.get_json()["error"]["code"] in {"invalid_date", "invalid_request"}
    app_client.put("/_sandbox/today", json={"days": 3})
    app_client.post("/_sandbox/reset")
    assert app_client.get("/_sandbox/today").get_json() == start  # back to how it started


@pytest.mark.parametrize("module", ["rmm", "backup", "training"])
def test_drifted_quantities_keep_their_kind(module):
    data = HubData(seed=8, organizations=80, today=date(2027, 2, 14))
    for (_, billing_type), value in quantities(data, module).items():
        if billing_type == "offsite_storage_gb":
            assert "." in value and float(value) >= 0
        else:
            assert value.isdigit()
        if billing_type == "phishing_enabled":
            assert value in {"0", "1"}
