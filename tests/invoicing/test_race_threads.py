"""Two runs of one period built at the same moment, two starts of one period, and two
finalizes at once, in threads with their own database connections (row locks are real
on a server database; SQLite's in-memory test database cannot serve two writers, so this
runs in the PostgreSQL pass)."""

import datetime
import threading

import pytest
from django.db import connection

from icb.invoicing import invoices, runs
from icb.invoicing.models import Invoice, InvoiceContract, InvoiceLine, InvoiceRun
from tests.factories import make_account
from tests.invoicing.helpers import at, backup_contract

pytestmark = pytest.mark.django_db(transaction=True)
OCTOBER = datetime.date(2026, 10, 1)


def _at_once(*works):
    start = threading.Barrier(len(works))
    errors, results = [], []

    def run(work):
        try:
            start.wait()
            results.append(work())
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(work,)) for work in works]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    return results


@pytest.fixture
def server_database():
    if connection.vendor == "sqlite":
        pytest.skip("two concurrent writers need a server database (runs on PostgreSQL)")


def test_two_builds_at_once_invoice_each_contract_once(server_database, company, account):
    for n in range(3):
        backup_contract(make_account(company, f"Clinic {n}", f"CLINIC{n}"))
    backup_contract(account)
    with at("2026-10-02"):
        run, _ = runs.start_run(company=company, actor=None, period_start=OCTOBER)
    for _attempt in range(3):
        _at_once(
            lambda: runs.build_run(run.pk, today=datetime.date(2026, 10, 2)),
            lambda: runs.build_run(run.pk, today=datetime.date(2026, 10, 2)),
        )
        assert InvoiceContract.objects.filter(active=True).count() == 4
        assert Invoice.objects.count() == 4 and InvoiceLine.objects.count() == 4


def test_two_starts_of_a_period_at_once_make_one_run(server_database, company):
    results = _at_once(
        lambda: runs.start_run(company=company, actor=None, period_start=OCTOBER),
        lambda: runs.start_run(company=company, actor=None, period_start=OCTOBER),
    )
    assert InvoiceRun.objects.count() == 1
    assert sorted(started for _, started in results) == [False, True]


def test_finalizing_at_once_gives_gapless_unique_numbers(server_database, company, account):
    for n in range(6):
        backup_contract(make_account(company, f"Clinic {n}", f"CLINIC{n}"))
    with at("2026-10-02"):
        run, _ = runs.start_run(company=company, actor=None, period_start=OCTOBER)
        runs.build_run(run.pk, today=datetime.date(2026, 10, 2))
    drafts = list(Invoice.objects.filter(run=run))
    halves = drafts[::2], drafts[1::2]
    with at("2026-10-02"):  # mock.patch is global: both threads see the pinned clock
        _at_once(
            *[lambda h=half: invoices.finalize_many(invoices=h, actor=None) for half in halves]
        )
    numbers = sorted(Invoice.objects.values_list("number", flat=True))
    assert numbers == [f"INV-2026-{n:05d}" for n in range(1, 7)]
