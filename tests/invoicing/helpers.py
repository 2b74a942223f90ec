"""Builders of the invoicing tests: the worked example's contract, a clock pinned to a
moment, and a run built in the caller (as the worker would)."""

import datetime
from contextlib import contextmanager
from unittest.mock import patch

from icb.contracts.services import service_create
from icb.invoicing import runs
from tests.factories import make_contract


@contextmanager
def at(day: str, hour: int = 15):
    """timezone.now() pinned to `day` at `hour` UTC (mid-afternoon: the same day in New
    York, the company's zone)."""
    moment = datetime.datetime.fromisoformat(day).replace(hour=hour, tzinfo=datetime.UTC)
    with patch("django.utils.timezone.now", return_value=moment):
        yield moment


def backup_contract(account, *, units="10", **fields):
    """The worked example: from 2026-10-01, monthly, 10 units at 3.00."""
    fields.setdefault("start_date", datetime.date(2026, 10, 1))
    contract = make_contract(account, "Backup", **fields)
    with at("2026-10-01"):
        service = service_create(
            contract=contract,
            actor=None,
            name="Managed backup",
            unit_price="3.00",
            units=units,
            start_date="2026-10-01",
        )
    return contract, service


def run_now(company, period_start: str, today: str, actor=None):
    """Start the period's run and build it here, on `today`."""
    with at(today):
        run, _ = runs.start_run(
            company=company, actor=actor, period_start=datetime.date.fromisoformat(period_start)
        )
        runs.build_run(run.pk, today=datetime.date.fromisoformat(today))
    run.refresh_from_db()
    return run
