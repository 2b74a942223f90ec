"""A contract and its services read as the billing rules take them: the worked example
from the database."""

import datetime
from decimal import Decimal
from unittest.mock import patch

import pytest

from icb.contracts.services import service_create, service_update
from icb.invoicing import selectors
from icb.invoicing.periods import Period
from icb.invoicing.rules import compute_invoice, units_on
from tests.factories import make_contract

pytestmark = pytest.mark.django_db
OCTOBER = Period(datetime.date(2026, 10, 1), datetime.date(2026, 10, 31))


def test_the_worked_example_from_the_database(account, company):
    contract = make_contract(account, "Backup", start_date=datetime.date(2026, 10, 1))
    service = service_create(
        contract=contract,
        actor=None,
        name="Managed backup",
        unit_price="3.00",
        units="10",
        start_date="2026-10-01",
    )
    # Recorded on 2026-10-20, effective from the 16th.
    moment = datetime.datetime(2026, 10, 20, 15, 0, tzinfo=datetime.UTC)
    with patch("django.utils.timezone.now", return_value=moment):
        service = service_update(
            service=service, actor=None, units="20", effective_date="2026-10-16"
        )
    terms = selectors.billing_terms(contract=contract, company=company)
    assert (terms.timing, terms.proration, terms.tax_rate) == ("advance", "daily", Decimal("0"))
    timeline = selectors.service_timeline(service=service, company=company)
    assert timeline.changes == [
        (datetime.date(2026, 10, 1), Decimal("10")),
        (datetime.date(2026, 10, 16), Decimal("20")),
    ]

    arrears = compute_invoice(
        terms=terms.__class__(**{**terms.__dict__, "timing": "arrears"}),
        period=OCTOBER,
        services=[timeline],
        invoiced={},
        today=datetime.date(2026, 11, 1),
    )
    assert [line.amount for line in arrears.lines] == [Decimal("14.52"), Decimal("30.97")]


def test_a_change_effective_before_the_service_started_counts_from_its_start(account, company):
    contract = make_contract(account, "Backup", start_date=datetime.date(2026, 10, 1))
    service = service_create(
        contract=contract,
        actor=None,
        name="Managed backup",
        unit_price="3.00",
        units="10",
        start_date="2026-10-10",
    )
    service = service_update(service=service, actor=None, units="20", effective_date="2026-10-05")
    timeline = selectors.service_timeline(service=service, company=company)
    assert timeline.changes == [
        (datetime.date(2026, 10, 10), Decimal("10")),
        (datetime.date(2026, 10, 10), Decimal("20")),
    ]
    terms = selectors.billing_terms(contract=contract, company=company)
    assert units_on(terms, timeline, datetime.date(2026, 10, 10)) == Decimal("20")
    assert units_on(terms, timeline, datetime.date(2026, 10, 9)) == Decimal("0")
