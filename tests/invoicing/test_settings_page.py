"""Admin › My Company › Billing settings: the company's defaults and a revenue account
code per module; administrators only."""

import pytest
from django.urls import reverse

from icb.hub.models import Module
from tests.factories import make_user

pytestmark = pytest.mark.django_db
URL = reverse("invoicing:settings")


def test_an_administrator_sets_the_defaults_and_the_module_codes(admin_client, company):
    rmm = Module.objects.create(company=company, code="rmm", name="RMM")
    html = admin_client.get(URL).content.decode()
    assert "Billing settings" in html and "RMM" in html
    form = {
        "billing_timing": "arrears",
        "proration": "none",
        "payment_terms_days": "14",
        "tax_rate": "8.875",
        "revenue_account_code": "4000",
        f"module_{rmm.pk}": "4100",
    }
    assert admin_client.post(URL, form).status_code == 302
    company.refresh_from_db()
    rmm.refresh_from_db()
    assert (company.billing_timing, company.proration, company.payment_terms_days) == (
        "arrears",
        "none",
        14,
    )
    assert (str(company.tax_rate), company.revenue_account_code, rmm.revenue_account_code) == (
        "8.875",
        "4000",
        "4100",
    )


def test_bad_values_are_named_and_nothing_is_saved(admin_client, company):
    rmm = Module.objects.create(company=company, code="rmm", name="RMM")
    form = {
        "billing_timing": "later",
        "proration": "daily",
        "payment_terms_days": "999",
        "tax_rate": "",
        "revenue_account_code": "",
        f"module_{rmm.pk}": "x" * 41,
    }
    html = admin_client.post(URL, form).content.decode()
    assert "Payment terms: enter a number of days from 0 to 365" in html
    assert "Use at most 40 characters." in html
    assert "Select a valid choice" in html
    company.refresh_from_db()
    assert company.payment_terms_days == 30


def test_other_roles_are_refused(client, company):
    client.force_login(make_user(company, "fin@acme.test", "Finance"))
    assert client.get(URL).status_code == 403
