"""The history row's JSON detail is built as text (Outcome.detail_json): it must be the
very text json.dumps makes of the detail, whatever the hub's ids and codes hold."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from icb.billing_sync.compute import Outcome, compute_units
from icb.hub.client import UsageResult

IDS = ["plain-1", 'quote"d', "back\\slash", "ünïcødé 🙂", "tab\tnew\nline", "</script>", ""]


def _outcome(ids, billing_type="work stations", measured=True, quantities=None):
    at = datetime(2026, 11, 27, 1, 2, 3, tzinfo=UTC)
    quantities = quantities or [Decimal(i) + Decimal("0.25") for i in range(len(ids))]
    usage = UsageResult(
        quantities={(o, billing_type): q for o, q in zip(ids, quantities, strict=True)},
        measured_at=(
            {(o, billing_type): at + timedelta(seconds=i) for i, o in enumerate(ids) if i % 2}
            if measured
            else {}
        ),
        missing=set(),
    )
    return compute_units(ids, billing_type, usage, module_code='rmm "x"')


@pytest.mark.parametrize(
    "outcome",
    [
        _outcome(IDS),
        _outcome(IDS[:1], measured=False),
        _outcome(["a", "b"], quantities=[Decimal("1E+3"), Decimal("0.000")]),
        Outcome("ok", units=Decimal(0)),  # no organizations, no usage
    ],
)
def test_the_detail_text_is_json_dumps_of_the_detail(outcome):
    assert outcome.detail_json() == json.dumps(outcome.detail())
    assert json.loads(outcome.detail_json()) == outcome.detail()
