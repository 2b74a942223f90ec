"""Property: a final invoice recomputed from its recorded inputs gives the same cents,
line by line, for random unit histories, timings and periods (through real runs on the
database, October then November with its adjustments)."""

import datetime
import random
from decimal import Decimal

import pytest

from icb.contracts.services import service_create, service_update
from icb.invoicing import invoices
from icb.invoicing.inputs import recompute
from icb.invoicing.models import Invoice, InvoiceContract, InvoiceLine
from tests.factories import make_account, make_contract
from tests.invoicing.helpers import at, run_now

pytestmark = pytest.mark.django_db
KINDS = {"period": "recurring", "stretch": "recurring", "adjustment": "adjustment"}


def _random_contract(rng: random.Random, company, n: int):
    account = make_account(company, f"Clinic {n}", f"CLINIC{n}")
    timing = rng.choice(["advance", "arrears"])
    proration = rng.choice(["daily", "none"])
    contract = make_contract(
        account,
        f"Contract {n}",
        start_date=datetime.date(2026, 9, rng.randint(1, 28)),
        billing_timing=timing,
        proration=proration,
    )
    for s in range(rng.randint(1, 3)):
        with at("2026-09-01"):
            service = service_create(
                contract=contract,
                actor=None,
                name=f"Service {s}",
                unit_price=str(Decimal(rng.randint(1, 9999)) / 100),
                units=str(rng.randint(0, 40)),
                start_date=contract.start_date.isoformat(),
            )
        for _ in range(rng.randint(0, 4)):
            day = contract.start_date + datetime.timedelta(days=rng.randint(0, 75))
            with at((day + datetime.timedelta(days=1)).isoformat()):
                service = service_update(
                    service=service,
                    actor=None,
                    units=str(rng.randint(0, 40)),
                    effective_date=day.isoformat(),
                )
    return contract


@pytest.mark.parametrize("seed", range(6))
def test_a_final_invoice_recomputes_to_the_same_cents(seed, company, admin_user):
    rng = random.Random(seed)
    for n in range(3):
        _random_contract(rng, company, n)
    for period, today in (("2026-10-01", "2026-11-05"), ("2026-11-01", "2026-12-02")):
        run = run_now(company, period, today=today)
        assert run.status == "done", run.message
        with at(today):
            invoices.finalize_many(
                invoices=list(Invoice.objects.filter(run=run, status="draft")), actor=admin_user
            )
    checked = 0
    for claim in InvoiceContract.objects.filter(invoice__status="final"):
        figures = recompute(claim.inputs)
        stored = InvoiceLine.objects.filter(invoice=claim.invoice, contract=claim.contract)
        expected = sorted(
            (KINDS[line.kind], line.service_id, line.start, line.amount, line.tax)
            for line in figures.lines
        )
        got = sorted(
            (line.kind, line.service_id, line.period_start, line.amount, line.tax)
            for line in stored
        )
        assert got == expected
        checked += 1
    assert checked >= 3
