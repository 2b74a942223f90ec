"""One rule for money and times on every page: `|money` and `|when` (icb_tags)."""

import datetime
import zoneinfo
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import timezone

from icb.common.money import format_money


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (Decimal("4905.00"), "USD", "4,905.00 USD"),
        (Decimal("1234567.5"), "EUR", "1,234,567.50 EUR"),
        (Decimal("0"), "USD", "0.00 USD"),
        (Decimal("999.99"), "", "999.99"),
        ("45", "GBP", "45.00 GBP"),
        (Decimal("0.005"), "USD", "0.01 USD"),  # half up, as an invoice
        (None, "USD", ""),
    ],
)
def test_money_groups_thousands_and_shows_two_places(amount, currency, shown):
    assert format_money(amount, currency) == shown


def _render(source: str, **context) -> str:
    return Template("{% load icb_tags %}" + source).render(Context(context))


def test_the_money_filter_is_the_same_rule():
    html = _render("{{ amount|money:currency }}", amount=Decimal("4905.00"), currency="USD")
    assert html == "4,905.00 USD"


def test_when_shows_a_time_in_the_active_zone():
    moment = datetime.datetime(2026, 11, 26, 10, 44, 5, tzinfo=datetime.UTC)
    with timezone.override(zoneinfo.ZoneInfo("America/New_York")):
        assert _render("{{ t|when }}", t=moment) == "2026-11-26 05:44 EST"
        assert _render('{{ t|when:"seconds" }}', t=moment) == "2026-11-26 05:44:05 EST"
    with timezone.override(zoneinfo.ZoneInfo("Europe/Berlin")):
        assert _render("{{ t|when }}", t=moment) == "2026-11-26 11:44 CET"


def test_when_shows_a_date_and_nothing_for_no_value():
    assert _render("{{ d|when }}", d=datetime.date(2026, 1, 1)) == "2026-01-01"
    assert _render('{{ d|when|default:"never" }}', d=None) == "never"
