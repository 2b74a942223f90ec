"""The billing rules (docs/billing-rules.md): the worked example, the edge cases and
properties over random unit histories."""

import datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from icb.common.money import to_cents
from icb.invoicing.periods import Period, next_period, period_containing
from icb.invoicing.rules import (
    BillingTerms,
    RuleError,
    ServiceTimeline,
    compute_invoice,
    units_on,
)

D = Decimal
OCTOBER = Period(datetime.date(2026, 10, 1), datetime.date(2026, 10, 31))
NOVEMBER = Period(datetime.date(2026, 11, 1), datetime.date(2026, 11, 30))
LATER = datetime.date(2027, 1, 15)


def terms(**overrides) -> BillingTerms:
    values = {
        "frequency": "monthly",
        "timing": "advance",
        "proration": "daily",
        "contract_start": datetime.date(2026, 10, 1),
        "contract_end": None,
        "currency": "USD",
        "tax_rate": D("0"),
    }
    values.update(overrides)
    return BillingTerms(**values)


def backup(changes, **overrides) -> ServiceTimeline:
    values = {
        "service_id": 1,
        "name": "Managed backup",
        "unit_price": D("3.00"),
        "start_date": datetime.date(2026, 10, 1),
        "end_date": None,
        "changes": changes,
    }
    values.update(overrides)
    return ServiceTimeline(**values)


TEN_THEN_TWENTY = [(datetime.date(2026, 10, 1), D("10")), (datetime.date(2026, 10, 16), D("20"))]


def test_worked_example_in_advance():
    contract = terms()
    october = compute_invoice(
        terms=contract,
        period=OCTOBER,
        services=[backup(TEN_THEN_TWENTY[:1])],
        invoiced={},
        today=datetime.date(2026, 10, 1),
    )
    assert [line.amount for line in october.lines] == [D("30.00")]
    invoiced = {OCTOBER: {1: october.billed[(1, OCTOBER)]}}

    november = compute_invoice(
        terms=contract,
        period=NOVEMBER,
        services=[backup(TEN_THEN_TWENTY)],
        invoiced=invoiced,
        today=datetime.date(2026, 11, 1),
    )
    adjustment, period_line = november.lines
    assert (period_line.kind, period_line.quantity, period_line.amount) == (
        "period",
        D("20"),
        D("60.00"),
    )
    assert (adjustment.kind, adjustment.quantity, adjustment.days, adjustment.days_in_period) == (
        "adjustment",
        D("10"),
        16,
        31,
    )
    assert adjustment.amount == D("15.48")
    assert adjustment.period == OCTOBER
    assert adjustment.explanation == (
        "Adjustment for October 2026: +10.00 units from 2026-10-16, × 3.00 × 16/31 days"
    )
    assert november.subtotal == D("75.48")


def test_worked_example_in_arrears():
    october = compute_invoice(
        terms=terms(timing="arrears"),
        period=OCTOBER,
        services=[backup(TEN_THEN_TWENTY)],
        invoiced={},
        today=datetime.date(2026, 11, 1),
    )
    assert [(line.kind, line.days, line.amount) for line in october.lines] == [
        ("stretch", 15, D("14.52")),
        ("stretch", 16, D("30.97")),
    ]
    assert october.lines[0].explanation == (
        "10.00 units × 3.00 × 15/31 days, 2026-10-01 – 2026-10-15 (October 2026)"
    )
    assert october.subtotal == D("45.49")


def test_an_arrears_period_is_invoiced_only_once_ended():
    with pytest.raises(RuleError, match="once it has ended"):
        compute_invoice(
            terms=terms(timing="arrears"),
            period=OCTOBER,
            services=[],
            invoiced={},
            today=datetime.date(2026, 10, 31),
        )


def test_tax_is_per_line_rounded_half_up_and_totals_are_sums_of_rounded_lines():
    # 15.48 × 8.25 % = 1.2771 → 1.28; 60.00 × 8.25 % = 4.95.
    contract = terms(tax_rate=D("8.25"))
    invoiced = {OCTOBER: {1: ((OCTOBER.start, D("10")),)}}
    november = compute_invoice(
        terms=contract,
        period=NOVEMBER,
        services=[backup(TEN_THEN_TWENTY)],
        invoiced=invoiced,
        today=LATER,
    )
    assert [line.tax for line in november.lines] == [D("1.28"), D("4.95")]
    assert (november.subtotal, november.tax, november.total) == (D("75.48"), D("6.23"), D("81.71"))


def test_amounts_round_to_the_currencys_minor_unit():
    yen = compute_invoice(
        terms=terms(currency="JPY", timing="arrears"),
        period=OCTOBER,
        services=[backup(TEN_THEN_TWENTY)],
        invoiced={},
        today=LATER,
    )
    # 14.516… → 15 and 30.967… → 31 yen.
    assert [line.amount for line in yen.lines] == [D("15"), D("31")]


def test_a_change_on_a_periods_first_day_is_in_that_periods_line_not_an_adjustment():
    changes = [(OCTOBER.start, D("10")), (NOVEMBER.start, D("20"))]
    november = compute_invoice(
        terms=terms(),
        period=NOVEMBER,
        services=[backup(changes)],
        invoiced={OCTOBER: {1: ((OCTOBER.start, D("10")),)}},
        today=NOVEMBER.start,
    )
    assert [(line.kind, line.amount) for line in november.lines] == [("period", D("60.00"))]


def test_of_several_changes_in_one_day_the_last_recorded_counts():
    day = datetime.date(2026, 10, 16)
    changes = [(OCTOBER.start, D("10")), (day, D("50")), (day, D("20"))]
    assert units_on(terms(), backup(changes), day) == D("20")


def test_a_change_before_the_contracts_start_is_refused():
    with pytest.raises(RuleError, match="before the contract's start"):
        compute_invoice(
            terms=terms(),
            period=OCTOBER,
            services=[backup([(datetime.date(2026, 9, 30), D("10"))])],
            invoiced={},
            today=OCTOBER.start,
        )


def test_leap_years_february_has_29_days():
    february = period_containing(
        frequency="monthly",
        contract_start=datetime.date(2028, 1, 1),
        day=datetime.date(2028, 2, 10),
    )
    assert february == Period(datetime.date(2028, 2, 1), datetime.date(2028, 2, 29))
    contract = terms(timing="arrears", contract_start=datetime.date(2028, 1, 1))
    service = backup(
        [(datetime.date(2028, 1, 1), D("10")), (datetime.date(2028, 2, 15), D("20"))],
        start_date=datetime.date(2028, 1, 1),
    )
    lines = compute_invoice(
        terms=contract,
        period=february,
        services=[service],
        invoiced={},
        today=LATER.replace(year=2028, month=3),
    ).lines
    # 10 × 3 × 14/29 = 14.48; 20 × 3 × 15/29 = 31.03.
    assert [(line.days_in_period, line.amount) for line in lines] == [
        (29, D("14.48")),
        (29, D("31.03")),
    ]


def test_periods_align_on_the_contracts_start_month():
    start = datetime.date(2026, 11, 20)
    quarter = period_containing(
        frequency="quarterly", contract_start=start, day=datetime.date(2027, 3, 3)
    )
    assert quarter == Period(datetime.date(2027, 2, 1), datetime.date(2027, 4, 30))
    year = period_containing(frequency="yearly", contract_start=start, day=start)
    assert year == Period(datetime.date(2026, 11, 1), datetime.date(2027, 10, 31))
    assert year.days == 365
    assert next_period(year, frequency="yearly").days == 366  # holds 2028-02-29


def test_a_service_starting_inside_a_period_is_prorated_daily_or_waits_for_the_next_with_none():
    service = backup(
        [(datetime.date(2026, 10, 11), D("10"))], start_date=datetime.date(2026, 10, 11)
    )
    daily = compute_invoice(
        terms=terms(), period=OCTOBER, services=[service], invoiced={}, today=LATER
    )
    assert [(line.days, line.amount) for line in daily.lines] == [(21, D("20.32"))]
    none = compute_invoice(
        terms=terms(proration="none"), period=OCTOBER, services=[service], invoiced={}, today=LATER
    )
    assert none.lines == []


def test_with_proration_none_a_change_counts_from_the_next_period():
    invoiced = {OCTOBER: {1: ((OCTOBER.start, D("10")),)}}
    november = compute_invoice(
        terms=terms(proration="none"),
        period=NOVEMBER,
        services=[backup(TEN_THEN_TWENTY)],
        invoiced=invoiced,
        today=LATER,
    )
    assert [(line.kind, line.amount) for line in november.lines] == [("period", D("60.00"))]


def test_a_service_ended_inside_an_invoiced_period_is_credited_for_the_days_after():
    invoiced = {OCTOBER: {1: ((OCTOBER.start, D("10")),)}}
    service = backup(TEN_THEN_TWENTY[:1], end_date=datetime.date(2026, 10, 20))
    november = compute_invoice(
        terms=terms(), period=NOVEMBER, services=[service], invoiced=invoiced, today=LATER
    )
    # −10 × 3 × 11/31 = −10.65; nothing for November.
    assert [(line.kind, line.quantity, line.amount) for line in november.lines] == [
        ("adjustment", D("-10"), D("-10.65"))
    ]


# --- properties ------------------------------------------------------------------------

START = datetime.date(2026, 1, 1)
units = st.decimals(min_value=0, max_value=500, places=2)
offsets = st.integers(min_value=0, max_value=400)


@st.composite
def histories(draw):
    first = draw(units)
    later = draw(st.lists(st.tuples(offsets, units), max_size=8))
    return [(START, first)] + [(START + datetime.timedelta(days=o), u) for o, u in later]


prices = st.decimals(min_value=0, max_value=1000, places=2)
frequencies = st.sampled_from(["monthly", "quarterly", "yearly"])
HALF_CENT = D("0.005")


@settings(max_examples=80, deadline=None)
@given(history=histories(), price=prices, frequency=frequencies, day=offsets)
def test_arrears_stretches_sum_to_the_daily_units_within_the_rounding(
    history, price, frequency, day
):
    contract = terms(timing="arrears", frequency=frequency, contract_start=START)
    period = period_containing(
        frequency=frequency, contract_start=START, day=START + datetime.timedelta(days=day)
    )
    service = backup(history, unit_price=price, start_date=START)
    lines = compute_invoice(
        terms=contract,
        period=period,
        services=[service],
        invoiced={},
        today=LATER.replace(year=2030),
    ).lines
    exact = (
        sum(
            units_on(contract, service, period.start + datetime.timedelta(days=i)) * price
            for i in range(period.days)
        )
        / period.days
    )
    assert abs(sum(line.amount for line in lines) - exact) <= HALF_CENT * len(lines)
    assert sum(line.days for line in lines) <= period.days
    if (
        len(
            {
                units_on(contract, service, period.start + datetime.timedelta(days=i))
                for i in range(period.days)
            }
        )
        == 1
    ):
        # Constant units: exactly units × price (one line, or none for zero units).
        assert sum(line.amount for line in lines) == to_cents(
            units_on(contract, service, period.start) * price
        )


@settings(max_examples=60, deadline=None)
@given(history=histories(), price=prices, recorded=st.lists(offsets, min_size=0, max_size=8))
def test_adjustments_over_consecutive_invoices_add_up_to_the_daily_recomputation(
    history, price, recorded
):
    """Invoices in advance month after month, each seeing only the changes recorded by
    then (changes are recorded on a random later day, backdated to their effective date):
    once everything is known, what was billed for the months before equals a daily
    recomputation, within half a cent per line."""
    contract = terms(contract_start=START)
    recorded_on = {
        index: change[0] + datetime.timedelta(days=recorded[index] if index < len(recorded) else 0)
        for index, change in enumerate(history)
    }
    recorded_on[0] = START
    invoiced: dict = {}
    lines = []
    period = period_containing(frequency="monthly", contract_start=START, day=START)
    horizon = START + datetime.timedelta(days=830)
    while period.start <= horizon:
        known = [c for i, c in enumerate(history) if recorded_on[i] <= period.start]
        service = backup(known, unit_price=price, start_date=START)
        figures = compute_invoice(
            terms=contract, period=period, services=[service], invoiced=invoiced, today=period.start
        )
        lines.extend(figures.lines)
        # Recomputed from the same recorded inputs: the same lines, to the cent.
        again = compute_invoice(
            terms=contract, period=period, services=[service], invoiced=invoiced, today=period.start
        )
        assert again == figures
        for (_, billed_period), steps in figures.billed.items():
            invoiced.setdefault(billed_period, {})[1] = steps
        period = next_period(period, frequency="monthly")
    # Every change is known by now: each month up to the last one fully settled.
    service = backup(history, unit_price=price, start_date=START)
    settled = [q for q in invoiced if q.end < horizon - datetime.timedelta(days=31)]
    for month in settled:
        billed = sum(line.amount for line in lines if line.period == month)
        count = sum(1 for line in lines if line.period == month)
        exact = (
            sum(
                units_on(contract, service, month.start + datetime.timedelta(days=i)) * price
                for i in range(month.days)
            )
            / month.days
        )
        assert abs(billed - exact) <= HALF_CENT * count


def test_a_half_cent_rounds_up():
    # 17.75 × 0.06 = 1.065: half-up gives 1.07 (banker's rounding would give 1.06).
    lines = compute_invoice(
        terms=terms(timing="arrears"),
        period=OCTOBER,
        services=[backup([(OCTOBER.start, D("17.75"))], unit_price=D("0.06"))],
        invoiced={},
        today=LATER,
    ).lines
    assert [line.amount for line in lines] == [D("1.07")]
