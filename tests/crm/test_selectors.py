import pytest

from icb.common.errors import NotFound
from icb.contracts.selectors import account_contracts
from icb.crm.selectors import account_get, account_list
from tests.factories import make_account, make_contract


@pytest.fixture
def accounts(company, other_company):
    make_account(other_company, "Harbor Elsewhere", code="HB-9")
    return {
        "harbor": make_account(company, "Harbor Dental Group", code="HB-1"),
        "summit": make_account(company, "Summit Law", code="SUM-1", is_active=False),
        "blue": make_account(company, "Blue Harbor Marine", code="BHM"),
    }


def names(qs):
    return [a.name for a in qs]


def test_lists_only_own_company_in_name_order(company, accounts):
    assert names(account_list(company=company)) == [
        "Blue Harbor Marine",
        "Harbor Dental Group",
        "Summit Law",
    ]


def test_name_filter_is_case_insensitive_contains(company, accounts):
    assert names(account_list(company=company, name="hARbor")) == [
        "Blue Harbor Marine",
        "Harbor Dental Group",
    ]


def test_code_filter_is_case_insensitive_contains(company, accounts):
    assert names(account_list(company=company, code="hb-")) == ["Harbor Dental Group"]
    assert names(account_list(company=company, code="  sum ")) == ["Summit Law"]


def test_active_filter(company, accounts):
    assert names(account_list(company=company, active=False)) == ["Summit Law"]
    assert names(account_list(company=company, active=True)) == [
        "Blue Harbor Marine",
        "Harbor Dental Group",
    ]


def test_filters_combine(company, accounts):
    assert names(account_list(company=company, name="harbor", code="bhm", active=True)) == [
        "Blue Harbor Marine"
    ]
    assert names(account_list(company=company, name="harbor", active=False)) == []


def test_blank_and_nul_filters_do_not_break(company, accounts):
    assert len(account_list(company=company, name="", code="   ")) == 3
    assert names(account_list(company=company, name="Sum\x00mit")) == ["Summit Law"]


def test_get_refuses_other_company_and_out_of_range_ids(company, other_company, accounts):
    other = make_account(other_company, "Theirs", code="T")
    assert account_get(company=company, account_id=accounts["summit"].pk) == accounts["summit"]
    for bad in (other.pk, 0, -1, 2**70):
        with pytest.raises(NotFound):
            account_get(company=company, account_id=bad)


def test_account_contracts(company, accounts):
    make_contract(accounts["harbor"], "Zeta Backup")
    make_contract(accounts["harbor"], "Alpha Managed")
    make_contract(accounts["blue"], "Not this one")
    assert [c.name for c in account_contracts(account=accounts["harbor"])] == [
        "Alpha Managed",
        "Zeta Backup",
    ]
