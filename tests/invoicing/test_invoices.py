"""A draft's edits, finalizing (numbers, dates), and a final invoice frozen: the
services refuse every change (409 invoice_final), corrections are a void or a credit
note, and on PostgreSQL the database refuses changes too."""

import datetime
import json
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client

from icb.common.errors import Conflict, InvalidInput
from icb.contracts.models import Service
from icb.contracts.services import service_delete
from icb.invoicing import invoices, selectors
from icb.invoicing.models import Invoice, InvoiceContract, InvoiceLine, InvoiceSequence
from tests.invoicing.helpers import at, backup_contract, run_now

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(company, account):
    backup_contract(account)
    run = run_now(company, "2026-10-01", today="2026-10-02")
    [invoice] = selectors.invoice_list(company=company, run_id=run.pk)
    return selectors.invoice_get(company=company, invoice_id=invoice.pk)


def _fresh(company, invoice):
    return selectors.invoice_get(company=company, invoice_id=invoice.pk)


def test_draft_edits_are_recorded_and_totalled(company, draft, admin_user):
    [recurring] = draft.line_list
    one_off = invoices.add_one_off(
        invoice=draft, actor=admin_user, description="Onboarding", quantity="2", unit_price="50"
    )
    assert one_off.amount == Decimal("100.00")
    invoices.override_quantity(line=recurring, actor=admin_user, quantity="12", note="agreed")
    recurring.refresh_from_db()
    assert (recurring.quantity, recurring.computed_quantity, recurring.amount) == (
        Decimal("12"),
        Decimal("10"),
        Decimal("36.00"),
    )
    # What the draft bills for the service follows the override (the later adjustments).
    [claim] = InvoiceContract.objects.filter(invoice=draft)
    assert claim.billed[0][3] == [["2026-10-01", "12"]]
    assert _fresh(company, draft).total == Decimal("136.00")
    invoices.remove_line(line=one_off, actor=admin_user, reason="Not this month")
    assert _fresh(company, draft).total == Decimal("36.00")
    with pytest.raises(InvalidInput):
        invoices.remove_line(line=recurring, actor=admin_user, reason="  ")


def test_finalize_numbers_in_sequence_with_the_prefix(company, account, draft, admin_user):
    with at("2026-10-02"):
        first = invoices.finalize(invoice=draft, actor=admin_user)
        note = invoices.credit_note(invoice=first, actor=admin_user)
    assert (first.number, note.number) == ("INV-2026-00001", "INV-2026-00002")
    assert note.total == -first.total and note.credit_of_id == first.pk
    assert [line.amount for line in note.lines.all()] == [Decimal("-30.00")]
    InvoiceSequence.objects.filter(company=company).update(prefix="ACME-{year}/")
    run = run_now(company, "2026-10-01", today="2026-10-03")
    redo = Invoice.objects.get(run=run, status="draft")
    with at("2026-10-03"):
        assert invoices.finalize(invoice=redo, actor=admin_user).number == "ACME-2026/00003"
    with at("2027-01-04"):
        later = invoices.finalize(
            invoice=invoices.add_one_off(
                invoice=Invoice.objects.create(
                    company=company,
                    account=account,
                    currency="USD",
                    period_start=datetime.date(2027, 1, 1),
                    period_end=datetime.date(2027, 1, 31),
                ),
                actor=admin_user,
                description="Audit",
                quantity="1",
                unit_price="10",
            ).invoice,
            actor=admin_user,
        )
    assert later.number == "ACME-2027/00001"


def test_a_final_invoice_refuses_every_change(company, draft, admin_user):
    [line] = draft.line_list
    with at("2026-10-02"):
        final = invoices.finalize(invoice=draft, actor=admin_user)
    attempts = [
        lambda: invoices.add_one_off(
            invoice=final, actor=admin_user, description="x", quantity="1", unit_price="1"
        ),
        lambda: invoices.remove_line(line=line, actor=admin_user, reason="x"),
        lambda: invoices.override_quantity(line=line, actor=admin_user, quantity="1"),
        lambda: invoices.finalize(invoice=final, actor=admin_user),
    ]
    for attempt in attempts:
        with pytest.raises(Conflict) as refused:
            attempt()
        assert refused.value.code == "invoice_final"
    invoices.void(invoice=final, actor=admin_user, reason="Wrong customer")
    for attempt in attempts:
        with pytest.raises(Conflict):
            attempt()
    with pytest.raises(Conflict):
        invoices.void(invoice=final, actor=admin_user, reason="again")
    with pytest.raises(Conflict):
        invoices.credit_note(invoice=final, actor=admin_user)
    final.refresh_from_db()
    assert (final.status, final.number, final.total) == ("void", "INV-2026-00001", Decimal(30))


def test_the_api_answers_409_invoice_final_and_walks_the_corrections(company, draft, admin_user):
    client = Client()
    client.force_login(admin_user)
    base = f"/api/v1/invoices/{draft.pk}"
    with at("2026-10-02"):
        body = client.post(f"{base}/finalize").json()
    assert (body["number"], body["status"], body["total"]) == ("INV-2026-00001", "final", "30.00")
    assert body["lines"][0]["unit_change_ids"]
    response = client.post(f"{base}/finalize")
    assert (response.status_code, response.json()["code"]) == (409, "invoice_final")
    with at("2026-10-05"):
        note = client.post(f"{base}/credit-note")
    assert note.status_code == 201 and note.json()["kind"] == "credit_note"
    assert note.json()["total"] == "-30.00"
    response = client.post(
        f"{base}/void", json.dumps({"reason": "x"}), content_type="application/json"
    )
    assert (response.status_code, response.json()["code"]) == (409, "invoice_credited")
    listed = client.get("/api/v1/invoices", {"status": "final"}).json()
    assert {i["number"] for i in listed["items"]} == {"INV-2026-00001", "INV-2026-00002"}


def test_the_database_refuses_changing_a_final_invoice(company, draft, admin_user):
    if connection.vendor != "postgresql":
        pytest.skip("the trigger is PostgreSQL's (the services refuse the same on SQLite)")
    [line] = draft.line_list
    with at("2026-10-02"):
        invoices.finalize(invoice=draft, actor=admin_user)
    changes = [
        lambda: InvoiceLine.objects.filter(pk=line.pk).update(amount=1),
        lambda: InvoiceLine.objects.filter(pk=line.pk).delete(),
        lambda: Invoice.objects.filter(pk=draft.pk).update(total=1),
        lambda: Invoice.objects.filter(pk=draft.pk).update(number="X-1"),
        lambda: Invoice.objects.filter(pk=draft.pk).update(status="draft"),
    ]
    for change in changes:
        with pytest.raises(DatabaseError), transaction.atomic():
            change()
    # A void changes the status and its reason only: allowed.
    Invoice.objects.filter(pk=draft.pk).update(status="void", void_reason="x")
    with pytest.raises(DatabaseError), transaction.atomic():
        Invoice.objects.filter(pk=draft.pk).update(void_reason="y")


def test_a_service_on_an_invoice_cannot_be_deleted(company, draft, admin_user):
    [line] = draft.line_list
    service = Service.objects.get(pk=line.service_id)
    with pytest.raises(Conflict) as refused:
        service_delete(service=service, actor=admin_user)
    assert refused.value.code == "has_history"
    assert Service.objects.filter(pk=service.pk).exists()


def test_an_amount_too_large_for_the_books_is_refused(company, draft, admin_user):
    with pytest.raises(InvalidInput, match="too large"):
        invoices.add_one_off(
            invoice=draft,
            actor=admin_user,
            description="Everything",
            quantity="999999999",
            unit_price="999999999",
        )
    for bad in ("NaN", "1e400", "1.234", "ten"):
        with pytest.raises(InvalidInput):
            invoices.add_one_off(
                invoice=draft, actor=admin_user, description="x", quantity=bad, unit_price="1"
            )
    assert InvoiceLine.objects.filter(invoice=draft, kind="one_off").count() == 0
