"""The review policy's rules, evaluated in memory (billing_sync.policy.hold_rule)."""

from decimal import Decimal as D

import pytest

from icb.billing_sync.policy import DEFAULT_RULES, Rules, hold_rule


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("50", "0", "drop_to_zero"),
        ("50", "24", "drop_percent"),
        ("50", "25", None),  # exactly half: not more than 50 %
        ("50", "49", None),
        ("50", "500", None),  # rises are applied by default
        ("0", "7", None),
        ("50", "50", None),
    ],
)
def test_the_default_holds_drops_to_zero_and_drops_over_half(old, new, expected):
    assert hold_rule(DEFAULT_RULES, D(old), D(new), first_sync=False) == expected


def test_each_rule_of_hold_unusual():
    rules = Rules(max_units=10, max_percent=20, hold_drop_to_zero=False, hold_drop_percent=None)
    assert hold_rule(rules, D("100"), D("111"), first_sync=False) == "max_units"
    assert hold_rule(rules, D("100"), D("110"), first_sync=False) is None
    assert hold_rule(rules, D("20"), D("25"), first_sync=False) == "max_percent"
    assert hold_rule(rules, D("20"), D("24"), first_sync=False) is None
    assert hold_rule(rules, D("0"), D("1"), first_sync=False) == "max_percent"  # from zero
    assert hold_rule(rules, D("5"), D("0"), first_sync=False) == "max_percent"
    first = Rules(hold_first_sync=True)
    assert hold_rule(first, D("0"), D("3"), first_sync=True) == "first_sync"
    assert hold_rule(first, D("0"), D("3"), first_sync=False) is None


def test_auto_applies_and_hold_all_holds_every_change():
    assert hold_rule(Rules(mode="auto"), D("50"), D("0"), first_sync=True) is None
    assert hold_rule(Rules(mode="hold_all"), D("50"), D("51"), first_sync=False) == "hold_all"
    assert hold_rule(Rules(mode="hold_all"), D("50"), D("50"), first_sync=False) is None
