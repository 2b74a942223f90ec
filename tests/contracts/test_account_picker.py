"""The contract forms' account is searched as you type (common.widgets.SearchSelect): the
pages hold only the current account, whatever the number of accounts, the API answers
the search, and the server still decides which account may be chosen."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from icb.contracts.models import Contract
from icb.crm.models import Account
from tests.factories import make_account, make_role, make_user

pytestmark = pytest.mark.django_db

OPTIONS = "/api/v1/contracts/account-options"


def _add_accounts(company, count: int, start: int = 0) -> None:
    Account.objects.bulk_create(
        Account(company=company, name=f"Bulk Customer {i:05d}", code=f"BULK{i:05d}")
        for i in range(start, start + count)
    )


def _size(client, url: str) -> int:
    response = client.get(url)
    assert response.status_code == 200
    return len(response.content)


def _box(html: str) -> tuple[str, str]:
    """The account box's text (the label shown) and the id its hidden input holds."""
    text = re.search(r'<input type="text" role="combobox"[^>]*id="contract-account_id"', html)
    hidden = re.search(r'<input type="hidden" name="account_id" value="([^"]*)"', html)
    assert text and hidden, "no account box"
    return re.search(r'value="([^"]*)"', text.group(0)).group(1), hidden.group(1)


def _post(account_id, **fields):
    return {
        "account_id": account_id,
        "name": "Backup",
        "start_date": "2026-02-01",
        "end_date": "",
        "billing_frequency": "monthly",
        "currency": "USD",
        "status": "active",
        **fields,
    }


# --- the pages do not grow with the accounts ------------------------------------------


def test_the_contract_forms_do_not_grow_with_the_number_of_accounts(
    admin_client, company, contract
):
    _add_accounts(company, 9)  # the contract's account and 9 more: 10
    pages = [reverse("contracts:create"), reverse("contracts:detail", args=[contract.pk])]
    small = [_size(admin_client, url) for url in pages]
    _add_accounts(company, 990, start=9)  # 1,000 accounts
    assert Account.objects.filter(company=company).count() == 1000
    large = [_size(admin_client, url) for url in pages]
    for before, after in zip(small, large, strict=True):
        assert abs(after - before) <= 16, (before, after)


def test_the_pages_hold_only_the_current_account(admin_client, company, contract):
    make_account(company, "Zephyr Law", "ZEPH")
    html = admin_client.get(reverse("contracts:detail", args=[contract.pk])).content.decode()
    assert _box(html) == ("Harbor Dental Group (HARBOR)", str(contract.account_id))
    assert "Zephyr" not in html and '<option value="' + str(contract.account_id) not in html
    html = admin_client.get(reverse("contracts:create")).content.decode()
    assert _box(html) == ("", "")
    assert "Harbor Dental Group" not in html and "Zephyr" not in html


def test_the_new_contract_page_starts_on_the_account_it_was_opened_for(
    admin_client, company, account, other_company
):
    url = reverse("contracts:create")
    html = admin_client.get(f"{url}?account={account.pk}").content.decode()
    assert _box(html) == ("Harbor Dental Group (HARBOR)", str(account.pk))
    rival = make_account(other_company, "Rival Customer", "RIVAL")
    closed = make_account(company, "Closed Customer", "CLOSED", is_active=False)
    for value in (rival.pk, closed.pk, "abc", "99999999999999999999999", "-1"):
        html = admin_client.get(f"{url}?account={value}").content.decode()
        assert _box(html) == ("", ""), value
        assert "Rival" not in html and "Closed Customer" not in html


def test_the_new_contract_page_says_when_there_is_no_account_to_choose(admin_client, company):
    html = admin_client.get(reverse("contracts:create")).content.decode()
    assert "There are no active accounts yet." in html
    make_account(company, "Closed Customer", "CLOSED", is_active=False)
    html = admin_client.get(reverse("contracts:create")).content.decode()
    assert "There are no active accounts yet." in html
    make_account(company, "Open Customer", "OPEN")
    html = admin_client.get(reverse("contracts:create")).content.decode()
    assert "There are no active accounts yet." not in html


def test_a_view_only_user_sees_the_account_in_a_disabled_box(viewer_client, contract):
    html = viewer_client.get(reverse("contracts:detail", args=[contract.pk])).content.decode()
    text = re.search(r'<input type="text" role="combobox"[^>]*>', html).group(0)
    assert " disabled" in text and 'value="Harbor Dental Group (HARBOR)"' in text


# --- the server decides what may be chosen ----------------------------------------------


def test_a_contract_is_created_with_the_chosen_account(admin_client, account):
    response = admin_client.post(reverse("contracts:create"), _post(str(account.pk)))
    assert response.status_code == 302
    assert Contract.objects.get().account == account


@pytest.mark.parametrize(
    "value", ["abc", "-1", "0", "1.5", "99999999999999999999999", "١", "²", "other", "closed"]
)
def test_an_account_that_may_not_be_chosen_is_the_fields_error(
    admin_client, company, other_company, value
):
    make_account(company, "Harbor Dental Group", "HARBOR")
    if value == "other":
        value = str(make_account(other_company, "Rival Customer", "RIVAL").pk)
    elif value == "closed":
        value = str(make_account(company, "Closed Customer", "CLOSED", is_active=False).pk)
    response = admin_client.post(reverse("contracts:create"), _post(value))
    html = response.content.decode()
    assert response.status_code == 200
    assert re.search(
        r'id="contract-account_id_error"[^>]*>\s*<li>Choose an active account from the list.',
        html,
    )
    assert _box(html) == ("", "")
    assert "Rival" not in html and "Closed Customer" not in html
    assert not Contract.objects.exists()


def test_no_account_chosen_says_so(admin_client, account):
    response = admin_client.post(reverse("contracts:create"), _post(""))
    assert re.search(
        r'id="contract-account_id_error"[^>]*>\s*<li>Choose an account.',
        response.content.decode(),
    )
    assert not Contract.objects.exists()


def test_a_contract_keeps_its_inactive_account_but_cannot_be_given_another(
    admin_client, company, contract
):
    Account.objects.filter(pk=contract.account_id).update(is_active=False)
    url = reverse("contracts:detail", args=[contract.pk])
    html = admin_client.get(url).content.decode()
    assert _box(html) == ("Harbor Dental Group (HARBOR)", str(contract.account_id))
    response = admin_client.post(url, _post(str(contract.account_id), name="Renamed"))
    assert response.status_code == 302
    contract.refresh_from_db()
    assert contract.name == "Renamed"

    closed = make_account(company, "Closed Customer", "CLOSED", is_active=False)
    response = admin_client.post(url, _post(str(closed.pk)))
    assert response.status_code == 200
    assert "Choose an active account from the list." in response.content.decode()
    contract.refresh_from_db()
    assert contract.account_id != closed.pk


def test_a_contract_is_moved_to_another_account(admin_client, company, contract):
    other = make_account(company, "Zephyr Law", "ZEPH")
    url = reverse("contracts:detail", args=[contract.pk])
    response = admin_client.post(url, _post(str(other.pk), name=contract.name))
    assert response.status_code == 302
    contract.refresh_from_db()
    assert contract.account == other
    html = admin_client.get(url).content.decode()
    assert _box(html) == ("Zephyr Law (ZEPH)", str(other.pk))


# --- the search API -----------------------------------------------------------------------


def test_the_search_matches_name_or_code_of_active_accounts_only(
    admin_client, company, other_company
):
    make_account(company, "Harbor Dental Group", "HARBOR")
    make_account(company, "Zephyr Law", "ZEPH-DENT")
    make_account(company, "Dental Closed", "DCLOSED", is_active=False)
    make_account(other_company, "Rival Dental", "RIVAL")
    body = admin_client.get(OPTIONS, {"q": "dEnT"}).json()
    assert [(a["name"], a["code"]) for a in body["items"]] == [
        ("Harbor Dental Group", "HARBOR"),
        ("Zephyr Law", "ZEPH-DENT"),
    ]
    assert set(body["items"][0]) == {"id", "name", "code"}
    assert body["count"] == 2
    assert admin_client.get(OPTIONS, {"q": "nothing like it"}).json()["count"] == 0
    assert admin_client.get(OPTIONS).json()["count"] == 2  # no search: every active one


def test_the_search_answers_one_small_page(admin_client, company):
    _add_accounts(company, 45)
    body = admin_client.get(OPTIONS, {"q": "bulk", "page_size": 20}).json()
    assert (len(body["items"]), body["count"], body["pages"]) == (20, 45, 3)
    assert body["items"][0]["name"] == "Bulk Customer 00000"
    assert admin_client.get(OPTIONS, {"q": "x" * 201}).status_code == 422


def test_the_search_needs_the_contracts_level_not_the_crm(company, account):
    contracts_only = make_role(company, "Contracts only", contracts="modify", crm_accounts="none")
    client = Client()
    client.force_login(make_user(company, "contracts@acme.test", contracts_only))
    assert client.get(OPTIONS, {"q": "harb"}).json()["count"] == 1
    assert client.get("/api/v1/accounts").status_code == 403
    nothing = make_role(company, "CRM only", contracts="none", crm_accounts="modify")
    client.force_login(make_user(company, "crm@acme.test", nothing))
    assert client.get(OPTIONS).status_code == 403
