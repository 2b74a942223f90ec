"""The Billing review pages with Django's test client: the list (filters, grouping, a
refused filter value), the decisions posted from it, the bulk decision of a filter, the
policy page, and the notes on the service, contract and run pages. In Chromium:
tests/e2e/test_billing_review.py."""

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from icb.billing_sync.models import HeldChange, ReviewPolicyChange
from icb.contracts.models import Service
from tests.factories import make_user

pytestmark = pytest.mark.django_db

PAGE = "/finance/billing-review/"


@pytest.fixture
def finance(company):
    client = Client()
    client.force_login(make_user(company, "finance@acme.test", role="Finance"))
    return client


def test_the_page_lists_a_held_change_with_its_strip_and_breakdown(admin_client, synced):
    held = synced.hold(0)
    page = admin_client.get(PAGE).content.decode()
    assert "50.00 → <strong>0.00</strong>" in page
    assert "-2,250.00 USD" in page and "Drop to zero" in page
    assert 'class="units-strip"' in page and "held: 0.00" in page
    assert "Quantities behind" in page
    assert f'action="/finance/billing-review/{held.pk}/approve/"' in page
    grouped = admin_client.get(PAGE, {"group": "account"}).content.decode()
    assert 'class="review-group"' in grouped and "Harbor Dental Group" in grouped


def test_a_refused_filter_value_is_named_and_left_out(admin_client, synced):
    synced.hold(0)
    page = admin_client.get(PAGE, {"direction": "sideways", "min_impact": "x"})
    assert page.status_code == 200
    text = page.content.decode()
    assert "This filter was left out." in text and "50.00 → <strong>0.00</strong>" in text


def test_approve_from_the_page_with_a_date_and_a_refused_date(admin_client, synced, company):
    held = synced.hold(0)
    url = f"{PAGE}{held.pk}/approve/"
    refused = admin_client.post(url, {"effective_date": "2099-01-01", "back": "group=account"})
    assert refused.status_code == 302 and refused["Location"].endswith("?group=account")
    assert HeldChange.objects.get(pk=held.pk).status == "pending"
    page = admin_client.get(refused["Location"]).content.decode()
    assert "cannot take effect in the future" in page
    day = timezone.localdate(timezone.now(), company.zone) - datetime.timedelta(days=1)
    admin_client.post(url, {"effective_date": str(day), "back": "//evil.example"})
    decided = HeldChange.objects.get(pk=held.pk)
    assert (decided.status, decided.effective_date) == ("approved", day)


def test_bulk_dismiss_of_the_filter(finance, synced):
    held = synced.hold(0)
    response = finance.post(f"{PAGE}bulk/", {"action": "dismiss", "direction": "down"})
    assert response.status_code == 302
    assert HeldChange.objects.get(pk=held.pk).status == "dismissed"
    assert Service.objects.get(pk=synced.service.pk).units == 50


def test_the_service_contract_and_run_pages_show_the_held_change(admin_client, synced):
    held = synced.hold(0)
    service = synced.service
    page = admin_client.get(f"/finance/contracts/{service.contract_id}/services/{service.pk}/")
    assert "Change held for review: <strong>50.00 → 0.00</strong> (drop to zero)" in (
        page.content.decode()
    )
    table = admin_client.get(f"/finance/contracts/{service.contract_id}/").content.decode()
    assert "Held for review: 50.00 → 0.00" in table
    run = admin_client.get(f"/finance/sync-history/{held.sync_run_id}/").content.decode()
    assert "Held for review" in run and "Drop to zero" in run


def test_the_menu_counts_the_pending_changes(admin_client, synced):
    synced.hold(0)
    assert '<span class="nav-badge" title="1 to look at">1</span>' in (
        admin_client.get("/").content.decode()
    )


def test_the_policy_page_saves_and_records_for_administrators_only(admin_client, finance, company):
    url = "/admin/my-company/billing-review/"
    assert finance.get(url).status_code == 200
    assert finance.post(url, {"mode": "auto"}).status_code == 403
    response = admin_client.post(
        url, {"mode": "hold_unusual", "max_units": "25", "hold_drop_to_zero": "on"}
    )
    assert response.status_code == 302
    page = admin_client.get(url).content.decode()
    assert "Change of more than (units): off → 25" in page
    assert "Drop of more than (%): 50 → off" in page
    assert ReviewPolicyChange.objects.filter(company=company).count() == 1
    refused = admin_client.post(url, {"mode": "hold_unusual", "max_units": "lots"})
    assert refused.status_code == 200 and "a whole number, or empty" in refused.content.decode()
