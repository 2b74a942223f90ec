"""The contract forms' account box in Chromium: typing part of a name lists the matches
from the API, the keyboard chooses one, the contract is saved with it, and the contract
page shows its account in the box."""

import pytest
from playwright.sync_api import expect

from icb.contracts.models import Contract
from tests.clients import login
from tests.factories import PASSWORD, make_account, make_company, make_contract, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def company():
    company = make_company("Acme MSP")
    make_user(company, "admin@acme.test")
    for name, code in [
        ("Harbor Dental Group", "HARBOR"),
        ("Bayside Dental Care", "BAYSIDE"),
        ("Dental Partners of Ohio", "DPO"),
        ("Zephyr Law", "ZEPH"),
        ("Closed Dental Office", "CLOSED"),
    ]:
        make_account(company, name, code, is_active=code != "CLOSED")
    return company


def test_a_contract_is_created_by_typing_and_choosing_with_the_keyboard(
    page, live_server, company, shots
):
    login(page, live_server, "admin@acme.test", PASSWORD)
    page.goto(f"{live_server.url}/finance/contracts/new/")
    box = page.get_by_role("combobox", name="Account")
    expect(box).to_have_value("")
    box.fill("dent")
    listbox = page.get_by_role("listbox")
    expect(listbox.get_by_role("option")).to_have_text(
        ["Bayside Dental Care BAYSIDE", "Dental Partners of Ohio DPO", "Harbor Dental Group HARBOR"]
    )  # active accounts only, in name order
    expect(box).to_have_attribute("aria-expanded", "true")
    box.press("ArrowDown")
    box.press("ArrowDown")
    second = listbox.get_by_role("option", name="Dental Partners of Ohio DPO")
    expect(second).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-activedescendant", second.get_attribute("id"))
    page.screenshot(path=str(shots / "contract-account-search.png"))
    box.press("Enter")
    expect(box).to_have_value("Dental Partners of Ohio (DPO)")
    expect(listbox).to_be_hidden()
    page.get_by_label("Contract name").fill("Managed Services 2026")
    page.get_by_label("Start date").fill("2026-01-01")
    page.get_by_role("button", name="Create contract").click()
    expect(page.get_by_role("heading", name="Managed Services 2026")).to_be_visible()
    contract = Contract.objects.get()
    assert contract.account.code == "DPO"

    # The contract page shows its account in the box; Escape puts back what was typed over.
    box = page.get_by_role("combobox", name="Account")
    expect(box).to_have_value("Dental Partners of Ohio (DPO)")
    page.screenshot(path=str(shots / "contract-account-current.png"), full_page=True)
    box.fill("zeph")
    expect(page.get_by_role("option", name="Zephyr Law ZEPH")).to_be_visible()
    box.press("Escape")
    expect(page.get_by_role("listbox")).to_be_hidden()
    box.press("Escape")
    expect(box).to_have_value("Dental Partners of Ohio (DPO)")

    # A click chooses too, and the save moves the contract.
    box.fill("zeph")
    page.get_by_role("option", name="Zephyr Law ZEPH").click()
    expect(box).to_have_value("Zephyr Law (ZEPH)")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("The contract was saved.")).to_be_visible()
    expect(page.get_by_role("combobox", name="Account")).to_have_value("Zephyr Law (ZEPH)")
    contract.refresh_from_db()
    assert contract.account.code == "ZEPH"


def test_typed_text_that_is_not_chosen_is_refused_by_the_server(page, live_server, company):
    login(page, live_server, "admin@acme.test", PASSWORD)
    page.goto(f"{live_server.url}/finance/contracts/new/")
    box = page.get_by_role("combobox", name="Account")
    box.fill("nobody by this name")
    expect(page.get_by_text("Nothing matches “nobody by this name”.")).to_be_visible()
    page.get_by_label("Contract name").fill("Backup")
    page.get_by_label("Start date").fill("2026-01-01")
    page.get_by_role("button", name="Create contract").click()
    expect(page.locator("#contract-account_id_error")).to_have_text("Choose an account.")
    assert not Contract.objects.exists()


def test_a_view_only_user_sees_the_account_and_cannot_search(page, live_server, company):
    contract = make_contract(company.accounts.get(code="ZEPH"))
    make_user(company, "ro@acme.test", "Read-only")
    login(page, live_server, "ro@acme.test", PASSWORD)
    page.goto(f"{live_server.url}/finance/contracts/{contract.pk}/")
    box = page.get_by_role("combobox", name="Account")
    expect(box).to_have_value("Zephyr Law (ZEPH)")
    expect(box).to_be_disabled()
