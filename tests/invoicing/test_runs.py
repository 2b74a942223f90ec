"""Invoice runs from the database: the worked example end to end, one invoice per
account and currency, idempotent rebuilds, arrears only once ended, and the unit changes
behind each line."""

import datetime
from decimal import Decimal

import pytest

from icb.contracts.models import Service, ServiceUnitChange
from icb.contracts.services import service_create, service_update
from icb.invoicing import invoices, selectors
from icb.invoicing.models import Invoice, InvoiceContract, InvoiceLine
from tests.factories import make_account, make_contract
from tests.invoicing.helpers import at, backup_contract, run_now

pytestmark = pytest.mark.django_db


def _draft(company, run):
    [invoice] = selectors.invoice_list(company=company, run_id=run.pk)
    return selectors.invoice_get(company=company, invoice_id=invoice.pk)


def test_the_worked_example_end_to_end(company, account, admin_user):
    contract, service = backup_contract(account)
    october = run_now(company, "2026-10-01", today="2026-10-02")
    assert (october.status, october.progress) == ("done", 100)
    draft = _draft(company, october)
    assert draft.total == Decimal("30.00") and draft.contract_ids == [contract.pk]
    with at("2026-10-02"):
        final = invoices.finalize(invoice=draft, actor=admin_user)
    assert final.number == "INV-2026-00001"
    assert (final.issue_date, final.due_date) == (
        datetime.date(2026, 10, 2),
        datetime.date(2026, 11, 1),
    )

    with at("2026-10-20"):
        service_update(service=service, actor=None, units="20", effective_date="2026-10-16")
    change = ServiceUnitChange.objects.get(service=service, new_units=20)
    november = run_now(company, "2026-11-01", today="2026-10-28")
    draft = _draft(company, november)
    lines = [(line.kind, line.amount) for line in draft.line_list]
    assert lines == [("adjustment", Decimal("15.48")), ("recurring", Decimal("60.00"))]
    assert draft.subtotal == Decimal("75.48")
    adjustment, recurring = draft.line_list
    assert adjustment.unit_change_ids == [change.pk] and recurring.unit_change_ids == [change.pk]
    assert (adjustment.period_start, adjustment.period_end) == (
        datetime.date(2026, 10, 16),
        datetime.date(2026, 10, 31),
    )
    assert "16/31 days" in adjustment.explanation


def test_arrears_is_invoiced_once_the_period_has_ended(company, account):
    backup_contract(account, billing_timing="arrears")
    early = run_now(company, "2026-10-01", today="2026-10-31")
    assert early.status == "done" and not Invoice.objects.filter(run=early).exists()
    later = run_now(company, "2026-10-01", today="2026-11-01")
    assert later.pk == early.pk
    assert _draft(company, later).total == Decimal("30.00")


def test_one_invoice_per_account_and_currency(company, account):
    backup_contract(account)
    backup_contract(account, currency="EUR")
    second = make_contract(account, "Support", start_date=datetime.date(2026, 1, 1))
    service_create(
        contract=second,
        actor=None,
        name="Helpdesk",
        unit_price="10.00",
        units="2",
        start_date="2026-01-01",
    )
    other = make_account(company, "Blue Ridge Clinic", "BLUE")
    backup_contract(other)
    run = run_now(company, "2026-10-01", today="2026-10-02")
    got = {
        (i.account.code, i.currency, i.total)
        for i in selectors.invoice_list(company=company, run_id=run.pk)
    }
    assert got == {
        ("HARBOR", "USD", Decimal("50.00")),
        ("HARBOR", "EUR", Decimal("30.00")),
        ("BLUE", "USD", Decimal("30.00")),
    }


def test_running_again_rebuilds_the_drafts_and_never_invoices_twice(company, account, admin_user):
    contract, service = backup_contract(account)
    run = run_now(company, "2026-10-01", today="2026-10-02")
    first = _draft(company, run)
    with at("2026-10-02"):
        service_update(service=service, actor=None, units="12", effective_date="2026-10-01")
    again = run_now(company, "2026-10-01", today="2026-10-02")
    assert again.pk == run.pk
    rebuilt = _draft(company, again)
    assert rebuilt.pk != first.pk and rebuilt.total == Decimal("36.00")
    with at("2026-10-02"):
        invoices.finalize(invoice=rebuilt, actor=admin_user)
    third = run_now(company, "2026-10-01", today="2026-10-03")
    assert third.status == "done"
    assert Invoice.objects.filter(run=run).count() == 1
    assert InvoiceContract.objects.filter(contract=contract, active=True).count() == 1


def test_a_voided_period_is_billed_again_by_the_next_run(company, account, admin_user):
    backup_contract(account)
    run = run_now(company, "2026-10-01", today="2026-10-02")
    with at("2026-10-02"):
        final = invoices.finalize(invoice=_draft(company, run), actor=admin_user)
        invoices.void(invoice=final, actor=admin_user, reason="Wrong price")
    run_now(company, "2026-10-01", today="2026-10-03")
    statuses = sorted(Invoice.objects.filter(run=run).values_list("status", flat=True))
    assert statuses == ["draft", "void"]


def test_a_contract_breaking_a_rule_is_left_out_and_named(company, account):
    contract, service = backup_contract(account)
    # A service starting before its contract (written directly: the services refuse it).
    Service.objects.filter(pk=service.pk).update(start_date=datetime.date(2026, 9, 1))
    run = run_now(company, "2026-10-01", today="2026-10-02")
    assert run.status == "done" and "Backup" in run.message
    assert not InvoiceLine.objects.exists()
