"""One unreadable usage row spoils only itself: the client keeps the rows it can read and
records each unreadable one per (organization, billing type) with the reason, so only
the services that depend on it fail. A page whose structure is wrong still fails the
read as a whole."""

import json
import uuid
from decimal import Decimal

import httpx
import pytest

from icb.hub import services
from icb.hub.client import HubClient
from icb.hub.errors import HubError
from tests.clients import connect

GOOD = {"billing_type": "workstations", "measured_at": "2026-11-26T04:00:00Z"}


def _client(*rows, page: dict | None = None) -> HubClient:
    body = page if page is not None else {"module": "rmm", "usage": list(rows), "missing": []}

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=json.dumps(body).encode())

    return HubClient("token", attempts=1, transport=httpx.MockTransport(answer))


def _row(org: str, quantity, **fields) -> dict:
    row = {"organization_id": org, **GOOD, "quantity": quantity, **fields}
    return {k: v for k, v in row.items() if v is not ...}


def test_unreadable_rows_are_kept_aside_with_their_reason(settings):
    settings.ICB_HUB_URL = "http://hub.invalid"
    rows = [
        _row("good", "12"),
        _row("negative", "-4"),
        _row("word", "twelve"),
        _row("float", 1.5),
        _row("null", None),
        _row("absent", ...),
        _row("infinite", "Infinity"),
        _row("undated", "3", measured_at="yesterday"),
    ]
    ids = [r["organization_id"] for r in rows]
    with _client(*rows) as api:
        usage = api.usage("rmm", ids, ["workstations"])
    assert usage.quantities == {("good", "workstations"): Decimal("12")}
    reasons = usage.unusable
    assert set(reasons) == {(o, "workstations") for o in ids if o != "good"}
    assert "negative" in reasons[("negative", "workstations")]
    assert "-4" in reasons[("negative", "workstations")]
    assert "not a number" in reasons[("word", "workstations")]
    assert "decimal string" in reasons[("float", "workstations")]
    assert "no quantity" in reasons[("null", "workstations")]
    assert "no quantity" in reasons[("absent", "workstations")]
    assert "not finite" in reasons[("infinite", "workstations")]
    assert "measured" in reasons[("undated", "workstations")]


def test_a_readable_row_does_not_hide_an_unreadable_one_for_the_same_key(settings):
    settings.ICB_HUB_URL = "http://hub.invalid"
    with _client(_row("o1", "3"), _row("o1", "-3")) as api:
        usage = api.usage("rmm", ["o1"], ["workstations"])
    assert ("o1", "workstations") in usage.unusable


@pytest.mark.parametrize(
    "page",
    [
        {"module": "rmm", "usage": [{"billing_type": "workstations", "quantity": "1"}]},
        {"module": "rmm", "usage": [{"organization_id": "o1", "quantity": "1"}]},
        {"module": "rmm", "usage": ["o1"]},
        {"module": "rmm"},
        {"usage": []},
    ],
    ids=["no organization", "no billing type", "not a row", "no usage", "no module"],
)
def test_a_page_of_the_wrong_shape_still_fails_the_read(settings, page):
    settings.ICB_HUB_URL = "http://hub.invalid"
    with _client(page=page) as api, pytest.raises(HubError) as error:
        api.usage("rmm", ["o1"], ["workstations"])
    assert error.value.code == "malformed"


@pytest.mark.django_db
def test_a_negative_quantity_at_the_sandbox_spoils_only_its_row(hub, admin_client, company):
    connect(admin_client)
    ids = [f"rows-{uuid.uuid4().hex[:10]}" for _ in range(3)]
    for org_id in ids:
        hub.add_organization("rmm", "Rows Inc", id=org_id, quantities={"workstations": "5"})
    hub.set_quantity("rmm", ids[1], "workstations", "-2")
    with services.hub_client(company) as api:
        usage = api.usage("rmm", ids, ["workstations", "servers"])
    assert usage.quantities[(ids[0], "workstations")] == Decimal("5")
    assert usage.quantities[(ids[2], "workstations")] == Decimal("5")
    assert (ids[1], "servers") in usage.quantities  # the same organization's other row
    assert list(usage.unusable) == [(ids[1], "workstations")]
    assert "-2" in usage.unusable[(ids[1], "workstations")]
