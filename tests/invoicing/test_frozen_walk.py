"""A final invoice cannot be changed through any route or page: every invoicing API
route and page is called on it (and its line) with a body that would change a draft;
its number, dates, money and lines are the same afterwards. The corrections (void,
credit note) change its status only."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from icb.invoicing import invoices, selectors
from icb.invoicing.models import Invoice, InvoiceLine
from tests.invoicing.helpers import at, backup_contract, run_now
from tests.test_api_routes import ROUTES
from tests.test_page_routes import PAGE_PERMISSIONS, _params

pytestmark = pytest.mark.django_db

BODIES = {
    "quantity": "99",
    "unit_price": "5",
    "description": "Sneaked in",
    "reason": "walk",
    "note": "walk",
    "count": "1",
    "period_start": "2026-10-01",
}


def _frozen_state(invoice):
    invoice = Invoice.objects.get(pk=invoice.pk)
    fields = (invoice.number, invoice.issue_date, invoice.due_date, invoice.subtotal)
    lines = list(
        InvoiceLine.objects.filter(invoice=invoice)
        .order_by("id")
        .values_list("quantity", "amount", "tax", "removed", "description")
    )
    return fields + (invoice.tax, invoice.total), lines


def test_no_route_or_page_changes_a_final_invoice(company, account, admin_user):
    backup_contract(account)
    run = run_now(company, "2026-10-01", today="2026-10-02")
    [draft] = selectors.invoice_list(company=company, run_id=run.pk)
    [line] = InvoiceLine.objects.filter(invoice=draft)
    with at("2026-10-02"):
        final = invoices.finalize(invoice=draft, actor=admin_user)
    before = _frozen_state(final)
    ids = {"invoice_id": final.pk, "invoice_run_id": run.pk, "line_id": line.pk}
    client = Client()
    client.force_login(admin_user)
    called = 0
    with at("2026-10-03"):
        for name in sorted(PAGE_PERMISSIONS):
            if not name.startswith("invoicing:") or "POST" not in PAGE_PERMISSIONS[name]:
                continue
            url = reverse(name, kwargs={p: ids[p] for p in _params(name)})
            response = client.post(url, BODIES)
            assert response.status_code < 500, (name, response.status_code)
            assert _frozen_state(final) == before, name
            called += 1
        for method, path in ROUTES:
            if method == "GET" or not path.startswith(("/invoices", "/invoice-runs")):
                continue
            url = "/api/v1" + path.replace("{invoice_id}", str(final.pk)).replace(
                "{invoice_run_id}", str(run.pk)
            )
            response = client.generic(
                method, url, json.dumps(BODIES), content_type="application/json"
            )
            assert response.status_code < 500, (method, path, response.status_code)
            assert _frozen_state(final) == before, (method, path)
            called += 1
    assert called >= 12
    # The walk's corrections reached it: it is credited or void, its figures unchanged.
    final.refresh_from_db()
    assert final.status in ("final", "void")
