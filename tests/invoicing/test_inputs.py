"""Property: what an invoice records (inputs_to_json, billed_to_json, through real JSON)
recomputes to the same lines and cents, and its billed records give the next invoices
the same `invoiced` as the rules' own figures, for random histories, timings, proration,
tax rates and months."""

import datetime
import json
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from icb.invoicing.inputs import billed_from_json, billed_to_json, inputs_to_json, recompute
from icb.invoicing.periods import next_period, period_containing
from icb.invoicing.rules import BillingTerms, ServiceTimeline, compute_invoice

START = datetime.date(2026, 1, 1)
units = st.decimals(min_value=0, max_value=500, places=2)
offsets = st.integers(min_value=0, max_value=200)


@st.composite
def services(draw, service_id: int):
    first = draw(units)
    later = draw(st.lists(st.tuples(offsets, units), max_size=6))
    start = START + datetime.timedelta(days=draw(st.integers(min_value=0, max_value=40)))
    ends = draw(st.one_of(st.none(), st.integers(min_value=0, max_value=250)))
    return ServiceTimeline(
        service_id=service_id,
        name=f"Service {service_id}",
        unit_price=draw(st.decimals(min_value=0, max_value=1000, places=2)),
        start_date=start,
        end_date=None if ends is None else start + datetime.timedelta(days=ends),
        changes=[(start, first)] + [(start + datetime.timedelta(days=o), u) for o, u in later],
    )


@settings(max_examples=60, deadline=None)
@given(
    timelines=st.tuples(services(1), services(2)),
    timing=st.sampled_from(["advance", "arrears"]),
    proration=st.sampled_from(["daily", "none"]),
    tax=st.decimals(min_value=0, max_value=30, places=3),
    months=st.integers(min_value=1, max_value=7),
)
def test_recorded_inputs_recompute_to_the_same_cents(timelines, timing, proration, tax, months):
    terms = BillingTerms(
        frequency="monthly",
        timing=timing,
        proration=proration,
        contract_start=START,
        contract_end=None,
        currency="USD",
        tax_rate=tax,
    )
    invoiced: dict = {}
    period = period_containing(frequency="monthly", contract_start=START, day=START)
    for _ in range(months):
        today = period.end + datetime.timedelta(days=1)
        figures = compute_invoice(
            terms=terms, period=period, services=list(timelines), invoiced=invoiced, today=today
        )
        recorded = json.loads(
            json.dumps(
                inputs_to_json(
                    terms=terms,
                    period=period,
                    services=list(timelines),
                    invoiced=invoiced,
                    today=today,
                )
            )
        )
        again = recompute(recorded)
        assert [(x.service_id, x.start, x.amount, x.tax) for x in again.lines] == [
            (x.service_id, x.start, x.amount, x.tax) for x in figures.lines
        ]
        assert again.total == figures.total
        billed = billed_from_json(json.loads(json.dumps(billed_to_json(figures.billed))))
        assert billed == figures.billed
        for (service_id, billed_period), steps in billed.items():
            invoiced.setdefault(billed_period, {})[service_id] = steps
        period = next_period(period, frequency="monthly")
    assert all(isinstance(v, Decimal) for v in (figures.subtotal, figures.tax))
