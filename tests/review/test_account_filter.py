"""The Billing review page's account filter is searched as you type: after a hub fault
every account may have a held change, and the page must not list them all."""

import re
from decimal import Decimal

import pytest

from icb.billing_sync.models import HeldChange, HoldRule
from tests.factories import make_account, make_contract, make_service

pytestmark = pytest.mark.django_db

PAGE = "/finance/billing-review/"
OPTIONS = "/api/v1/held-changes/account-options"


def _held_accounts(company, count: int, start: int = 0) -> list:
    accounts = []
    for i in range(start, start + count):
        account = make_account(company, f"Held Customer {i:04d}", code=f"HELD{i:04d}")
        service = make_service(make_contract(account), "Managed Workstations", units="10")
        HeldChange.objects.create(
            company=company,
            service=service,
            current_units=Decimal("10"),
            proposed_units=Decimal("0"),
            rule=HoldRule.DROP_TO_ZERO,
        )
        accounts.append(account)
    return accounts


def test_the_page_does_not_grow_with_the_accounts_that_have_held_changes(admin_client, company):
    first = _held_accounts(company, 10)[0]
    url = f"{PAGE}?account_id={first.pk}"
    small = admin_client.get(url)
    assert small.status_code == 200
    _held_accounts(company, 190, start=10)
    large = admin_client.get(url)

    # The same page but for counts (the menu's pending count grows by a digit) and the
    # forms' tokens (random, and digits in them).
    def shape(response):
        html = re.sub(rb'csrfmiddlewaretoken" value="[^"]*"', b"", response.content)
        return len(re.sub(rb"\d+", b"0", html))

    assert shape(large) == shape(small)
    # Only the chosen account is on the page, in the box; no other account is listed.
    html = large.content.decode()
    assert 'value="Held Customer 0000 (HELD0000)"' in html
    assert "Held Customer 0150" not in html


def test_the_box_searches_the_accounts_with_held_changes(admin_client, company):
    _held_accounts(company, 3)
    make_account(company, "Held Customer Without Changes", code="NONE")
    body = admin_client.get(OPTIONS, {"q": "held customer"}).json()
    assert [item["name"] for item in body["items"]] == [
        "Held Customer 0000",
        "Held Customer 0001",
        "Held Customer 0002",
    ]
    assert admin_client.get(OPTIONS, {"q": "HELD0001"}).json()["count"] == 1


def test_another_companys_account_is_not_shown_as_chosen(admin_client, company, other_company):
    _held_accounts(company, 1)
    foreign = _held_accounts(other_company, 1)[0]
    html = admin_client.get(f"{PAGE}?account_id={foreign.pk}").content.decode()
    assert '<input type="hidden" name="account_id" value=""' in html
    assert admin_client.get(OPTIONS).json()["count"] == 1
