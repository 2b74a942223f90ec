"""Invoicing as a finance admin meets it: a new run of November builds the drafts (the
worked example: October final, units changed effective 16 October), the drafts list
flags the change against October, the draft gets a one-off line, a removal and a
changed quantity, is finalized, then credited; October is voided. The clock is pinned
(the live server runs in this process), so the months are the same at any date."""

import datetime
import re

import pytest
from playwright.sync_api import expect

from icb.celery import app
from icb.contracts.services import service_update
from icb.invoicing import invoices, selectors
from icb.invoicing.models import Invoice, InvoiceRun
from tests.clients import login
from tests.factories import PASSWORD, make_account, make_company, make_user
from tests.invoicing.helpers import at, backup_contract, run_now

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def eager():
    """Celery runs the run's task in the web request, as ICB_TASKS_EAGER=1 makes it."""
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


def _october_final(company, admin):
    account = make_account(company, "Harbor Dental Group", "HARBOR")
    _, service = backup_contract(account)
    other = make_account(company, "Blue Ridge Clinic", "BLUE")
    backup_contract(other, units="40")
    october = run_now(company, "2026-10-01", today="2026-10-02")
    with at("2026-10-02"):
        invoices.finalize_many(
            invoices=list(selectors.invoice_list(company=company, run_id=october.pk)),
            actor=admin,
        )
    with at("2026-10-20"):
        service_update(service=service, actor=admin, units="20", effective_date="2026-10-16")
    return account


def test_a_run_a_draft_finalize_credit_note_and_void(page, live_server, shots, eager):
    company = make_company("Acme MSP")
    admin = make_user(company, "admin@acme.test")
    _october_final(company, admin)
    page.on("dialog", lambda dialog: dialog.accept())
    with at("2026-11-20"):
        login(page, live_server, "admin@acme.test", PASSWORD)
        page.get_by_role("navigation", name="Main menu").get_by_role(
            "link", name="Invoicing"
        ).click()
        page.get_by_label("Period").select_option(label="November 2026")
        page.get_by_role("button", name="New run").click()
        expect(page.get_by_role("heading", name="Invoice run · November 2026")).to_be_visible()
        row = page.get_by_role("row", name=re.compile("Harbor Dental Group"))
        expect(row).to_contain_text("75.48")
        expect(row).to_contain_text("151.6 %")  # against October's 30.00: flagged
        expect(page.get_by_role("button", name="Finalize all 2")).to_be_visible()
        page.screenshot(path=shots / "invoicing-run.png", full_page=True)

        row.get_by_role("link", name=re.compile("Draft")).click()
        expect(page.get_by_text("Adjustment for October 2026")).to_be_visible()
        page.get_by_label("Description").fill("Onboarding workshop")
        page.get_by_label("Unit price").fill("50")
        page.get_by_role("button", name="Add line").click()
        expect(page.get_by_text("The line was added.")).to_be_visible()
        expect(page.get_by_role("row", name=re.compile("^Total"))).to_contain_text("125.48")

        recurring = page.get_by_role("row", name=re.compile("20.00 units × 3.00"))
        recurring.get_by_text("Change", exact=True).click()
        recurring.get_by_label("Quantity").fill("18")
        recurring.get_by_label("Note").fill("Two seats cancelled")
        recurring.get_by_role("button", name="Set").click()
        expect(page.get_by_text("Quantity changed from 20.00: Two seats cancelled")).to_be_visible()

        one_off = page.get_by_role("row", name=re.compile("Onboarding workshop"))
        one_off.get_by_text("Change", exact=True).click()
        one_off.get_by_label("Reason").fill("Billed on its own")
        one_off.get_by_role("button", name="Remove").click()
        expect(page.get_by_text("Removed: Billed on its own")).to_be_visible()
        expect(page.get_by_role("row", name=re.compile("^Total"))).to_contain_text("69.48")
        page.screenshot(path=shots / "invoicing-draft.png", full_page=True)

        page.get_by_role("button", name="Finalize").click()
        expect(page.get_by_text("Invoice INV-2026-00003 is final.")).to_be_visible()
        expect(page.get_by_role("button", name="Add line")).to_have_count(0)
        page.screenshot(path=shots / "invoicing-final.png", full_page=True)

        page.get_by_role("button", name="Credit note").click()
        expect(page.get_by_text("Credit note INV-2026-00004 was issued.")).to_be_visible()
        expect(page.get_by_role("row", name=re.compile("^Total"))).to_contain_text("-69.48")
        page.screenshot(path=shots / "invoicing-credit-note.png", full_page=True)

        october = Invoice.objects.get(number="INV-2026-00001")
        page.goto(f"{live_server.url}/finance/invoicing/invoices/{october.pk}/")
        page.get_by_label("Reason").fill("Wrong price")
        page.get_by_role("button", name="Void").click()
        expect(page.get_by_text("Invoice INV-2026-00001 is void")).to_be_visible()
        expect(page.get_by_role("button", name="Credit note")).to_have_count(0)
        page.get_by_role("link", name="Invoicing", exact=True).first.click()
        expect(page.get_by_role("link", name="November 2026")).to_be_visible()
        page.screenshot(path=shots / "invoicing-runs.png", full_page=True)

    final = Invoice.objects.get(number="INV-2026-00003")
    assert (final.status, final.total, final.issue_date) == (
        "final",
        final.subtotal,
        datetime.date(2026, 11, 20),
    )


def test_the_progress_of_a_running_run(page, live_server, shots):
    company = make_company("Acme MSP")
    make_user(company, "admin@acme.test")
    InvoiceRun.objects.create(
        company=company,
        period_start=datetime.date(2026, 12, 1),
        period_end=datetime.date(2026, 12, 31),
        progress_done=4200,
        progress_total=10000,
    )
    login(page, live_server, "admin@acme.test", PASSWORD)
    run = InvoiceRun.objects.get(company=company)
    page.goto(f"{live_server.url}/finance/invoicing/runs/{run.pk}/")
    expect(page.get_by_text("Building the drafts… 42 %")).to_be_visible()
    page.screenshot(path=shots / "invoicing-progress.png", full_page=True)
