import pytest

from icb.common.errors import InvalidInput
from icb.crm.models import Account
from icb.crm.services import account_create, account_update
from tests.factories import make_account


def test_create_trims_name_and_code(company, admin_user):
    account = account_create(
        company=company, actor=admin_user, name="  Harbor Dental  ", code="  HD-1 "
    )
    account.refresh_from_db()
    assert account.name == "Harbor Dental"
    assert account.code == "HD-1"
    assert account.company == company
    assert account.is_active is True


def test_duplicate_code_in_same_company_is_refused(company, admin_user):
    make_account(company, "Harbor Dental", code="HD")
    with pytest.raises(InvalidInput) as exc:
        account_create(company=company, actor=admin_user, name="Other", code="HD")
    assert exc.value.errors == {"code": ["An account with this code already exists."]}
    assert Account.objects.filter(company=company).count() == 1


def test_duplicate_code_ignores_case_and_spaces(company, admin_user):
    make_account(company, "Harbor Dental", code="HD-1")
    with pytest.raises(InvalidInput) as exc:
        account_create(company=company, actor=admin_user, name="Other", code=" hd-1 ")
    assert "code" in exc.value.errors


def test_same_code_in_another_company_is_allowed(company, other_company, admin_user):
    make_account(other_company, "Harbor Dental", code="HD")
    account = account_create(company=company, actor=admin_user, name="Harbor", code="HD")
    assert account.pk
    assert Account.objects.filter(code="HD").count() == 2


def test_empty_name_and_bad_code_are_reported_together(company, admin_user):
    with pytest.raises(InvalidInput) as exc:
        account_create(company=company, actor=admin_user, name="   ", code="bad code!")
    assert set(exc.value.errors) == {"name", "code"}
    assert not Account.objects.exists()


def test_invalid_email_and_too_long_fields(company, admin_user):
    with pytest.raises(InvalidInput) as exc:
        account_create(
            company=company, actor=admin_user, name="x" * 201, code="OK", email="not-an-email"
        )
    assert set(exc.value.errors) == {"name", "email"}


def test_null_character_and_null_value_are_refused(company, admin_user):
    with pytest.raises(InvalidInput) as exc:
        account_create(company=company, actor=admin_user, name="A\x00B", code="AB", city=None)
    assert set(exc.value.errors) == {"name", "city"}


def test_unknown_field_is_refused(company, admin_user):
    with pytest.raises(InvalidInput) as exc:
        account_create(company=company, actor=admin_user, name="A", code="A", company_id=5)
    assert "company_id" in exc.value.errors


def test_update_changes_and_trims(company, admin_user):
    account = make_account(company, "Harbor Dental", code="HD")
    account_update(
        account=account,
        actor=admin_user,
        name=" Harbor Dental Group ",
        is_active=False,
        city="Boston",
    )
    account.refresh_from_db()
    assert (account.name, account.is_active, account.city) == (
        "Harbor Dental Group",
        False,
        "Boston",
    )


def test_update_keeping_own_code_is_allowed(company, admin_user):
    account = make_account(company, "Harbor Dental", code="HD")
    account_update(account=account, actor=admin_user, code="hd")
    account.refresh_from_db()
    assert account.code == "hd"


def test_update_to_another_accounts_code_is_refused_and_nothing_changes(company, admin_user):
    make_account(company, "Alpha", code="ALPHA")
    account = make_account(company, "Beta", code="BETA")
    with pytest.raises(InvalidInput) as exc:
        account_update(account=account, actor=admin_user, name="Beta 2", code="Alpha")
    assert exc.value.errors == {"code": ["An account with this code already exists."]}
    assert (account.name, account.code) == ("Beta", "BETA")
    account.refresh_from_db()
    assert (account.name, account.code) == ("Beta", "BETA")


def test_integrity_error_race_is_reported_on_code(company, admin_user, monkeypatch):
    make_account(company, "Alpha", code="ALPHA")
    # Simulate the race: the first check misses the other account, then the database
    # refuses the duplicate and the error is still reported on "code".
    calls = {"n": 0}
    real = Account.objects.filter

    def taken_second_time(account):
        calls["n"] += 1
        return calls["n"] > 1 and real(company=company, code__iexact=account.code).exists()

    monkeypatch.setattr("icb.crm.services._code_taken", taken_second_time)
    with pytest.raises(InvalidInput) as exc:
        account_create(company=company, actor=admin_user, name="Other", code="ALPHA")
    assert exc.value.errors == {"code": ["An account with this code already exists."]}
    assert calls["n"] == 2
