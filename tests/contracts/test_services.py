"""The business rules of contracts and services, called directly."""

import datetime
from decimal import Decimal

import pytest

from icb.common.errors import InvalidInput
from icb.contracts.models import Contract, Service, ServiceUnitChange, UnitChangeSource
from icb.contracts.services import (
    contract_create,
    contract_update,
    parse_decimal,
    service_create,
    service_delete,
    service_update,
)
from tests.factories import make_account

pytestmark = pytest.mark.django_db


def _create_contract(company, actor, account, **overrides):
    fields = dict(
        company=company,
        actor=actor,
        account_id=account.pk,
        name="Managed Services",
        start_date=datetime.date(2026, 1, 1),
        billing_frequency="monthly",
        currency="USD",
    )
    fields.update(overrides)
    return contract_create(**fields)


# --- contracts -----------------------------------------------------------------------


def test_contract_create_stores_every_field(company, admin_user, account):
    contract = _create_contract(
        company,
        admin_user,
        account,
        end_date="2026-12-31",
        billing_frequency="quarterly",
        currency="eur",
        status="on_hold",
        name="  Backup  ",
    )
    contract.refresh_from_db()
    assert contract.company == company
    assert contract.account == account
    assert contract.name == "Backup"
    assert contract.end_date == datetime.date(2026, 12, 31)
    assert (contract.billing_frequency, contract.currency, contract.status) == (
        "quarterly",
        "EUR",
        "on_hold",
    )


@pytest.mark.parametrize("account_id", [None, 0, -1, 999999, "abc", 2**80, True, 1.5])
def test_contract_create_refuses_an_unknown_account(company, admin_user, account, account_id):
    with pytest.raises(InvalidInput) as exc:
        _create_contract(company, admin_user, account, account_id=account_id)
    assert exc.value.errors == {"account_id": ["Unknown account."]}
    assert not Contract.objects.exists()


def test_contract_create_refuses_another_companys_account(company, other_company, admin_user):
    theirs = make_account(other_company, "Rival Customer", "RIVAL")
    with pytest.raises(InvalidInput) as exc:
        _create_contract(company, admin_user, theirs)
    assert exc.value.errors == {"account_id": ["Unknown account."]}


def test_contract_end_before_start_is_refused(company, admin_user, account):
    with pytest.raises(InvalidInput) as exc:
        _create_contract(
            company, admin_user, account, start_date="2026-05-01", end_date="2026-04-30"
        )
    assert "end_date" in exc.value.errors
    assert not Contract.objects.exists()


@pytest.mark.parametrize(
    "field, value",
    [
        ("currency", "XXX"),
        ("currency", ""),
        ("currency", None),
        ("billing_frequency", "weekly"),
        ("billing_frequency", None),
        ("status", "deleted"),
        ("start_date", "2026-02-30"),
        ("start_date", None),
        ("start_date", "tomorrow"),
        ("end_date", "31/12/2026"),
        ("name", ""),
        ("name", "x" * 201),
        ("name", "a\x00b"),
        ("name", 5),
    ],
)
def test_contract_create_names_the_bad_field(company, admin_user, account, field, value):
    with pytest.raises(InvalidInput) as exc:
        _create_contract(company, admin_user, account, **{field: value})
    assert field in exc.value.errors, exc.value.errors
    assert not Contract.objects.exists()


def test_contract_update_changes_only_what_is_given(company, admin_user, account, contract):
    contract_update(
        contract=contract, actor=admin_user, status="ended", end_date=datetime.date(2026, 6, 30)
    )
    contract.refresh_from_db()
    assert contract.status == "ended"
    assert contract.end_date == datetime.date(2026, 6, 30)
    assert contract.name == "Managed Services"


def test_contract_update_refuses_end_before_start_and_unknown_fields(admin_user, contract):
    with pytest.raises(InvalidInput) as exc:
        contract_update(contract=contract, actor=admin_user, end_date="2025-12-31")
    assert "end_date" in exc.value.errors
    with pytest.raises(InvalidInput) as exc:
        contract_update(contract=contract, actor=admin_user, company_id=99)
    assert "company_id" in exc.value.errors
    contract.refresh_from_db()
    assert contract.end_date is None


def test_contract_update_cannot_move_to_another_companys_account(
    admin_user, contract, other_company
):
    theirs = make_account(other_company, "Rival Customer", "RIVAL")
    with pytest.raises(InvalidInput) as exc:
        contract_update(contract=contract, actor=admin_user, account_id=theirs.pk)
    assert exc.value.errors == {"account_id": ["Unknown account."]}


# --- decimals ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("45", "45.00"),
        ("45.5", "45.50"),
        (" 0.01 ", "0.01"),
        ("1.230", "1.23"),
        (7, "7.00"),
        (0.1, "0.10"),
        (Decimal("9999999999.99"), "9999999999.99"),
        ("-0", "0.00"),
        (Decimal("1E+2"), "100.00"),
    ],
)
def test_parse_decimal_accepts_two_places(raw, expected):
    assert str(parse_decimal(raw, field="units")) == expected


@pytest.mark.parametrize(
    "raw, words",
    [
        ("abc", "not a number"),
        ("", "enter a number"),
        (None, "enter a number"),
        (True, "enter a number"),
        ([1], "enter a number"),
        ("-1", "negative"),
        (-0.5, "negative"),
        ("1.234", "decimal places"),
        (1.234, "decimal places"),
        ("1e-9", "not a number"),
        ("NaN", "not a number"),
        ("Infinity", "not a number"),
        ("-inf", "not a number"),
        (float("nan"), "finite"),
        ("1e400", "not a number"),
        (float("inf"), "finite"),
        ("10000000000", "too large"),
        (10**30, "too large"),
        ("1" * 100, "too long"),
        ("1,5", "not a number"),
        # Only plain decimal notation in ASCII digits, as the API documents.
        ("1E1", "not a number"),
        ("1E+2", "not a number"),
        ("\u0663", "not a number"),  # an Arabic-Indic three
        ("\uff15", "not a number"),  # a fullwidth five
        ("1_000", "not a number"),
        ("0x10", "not a number"),
    ],
)
def test_parse_decimal_refuses_with_a_clear_message(raw, words):
    with pytest.raises(InvalidInput) as exc:
        parse_decimal(raw, field="unit_price")
    message = exc.value.errors["unit_price"][0]
    assert message.startswith("Unit price")
    assert words in message.lower()


# --- services ------------------------------------------------------------------------


def test_service_create_writes_a_created_history_row(contract, admin_user):
    service = service_create(
        contract=contract,
        actor=admin_user,
        name="Backup",
        unit_price="12.50",
        units="3",
        description="Nightly",
    )
    service.refresh_from_db()
    assert (service.unit_price, service.units, service.company_id) == (
        Decimal("12.50"),
        Decimal("3.00"),
        contract.company_id,
    )
    assert service.amount == Decimal("37.50")
    (row,) = ServiceUnitChange.objects.filter(service=service)
    assert row.old_units is None
    assert row.new_units == Decimal("3")
    assert row.source == UnitChangeSource.CREATED
    assert row.user == admin_user
    assert row.company_id == contract.company_id


@pytest.mark.parametrize(
    "field, value",
    [
        ("units", "-1"),
        ("units", "abc"),
        ("units", "1.234"),
        ("units", "NaN"),
        ("unit_price", "-0.01"),
        ("unit_price", "1e400"),
        ("unit_price", "x"),
        ("name", ""),
        ("name", "n" * 201),
        ("description", "d" * 501),
    ],
)
def test_service_create_refuses_bad_input_and_saves_nothing(contract, admin_user, field, value):
    fields = dict(name="Backup", unit_price="12.50", units="3")
    fields[field] = value
    with pytest.raises(InvalidInput) as exc:
        service_create(contract=contract, actor=admin_user, **fields)
    assert field in exc.value.errors
    assert not Service.objects.exists()
    assert not ServiceUnitChange.objects.exists()


def test_service_update_of_units_records_old_and_new(service, admin_user):
    updated = service_update(service=service, actor=admin_user, units="12.5")
    assert updated.units == Decimal("12.50")
    row = ServiceUnitChange.objects.filter(service=service).first()  # newest first
    assert (row.old_units, row.new_units, row.source, row.user) == (
        Decimal("10"),
        Decimal("12.5"),
        UnitChangeSource.USER,
        admin_user,
    )
    assert ServiceUnitChange.objects.filter(service=service).count() == 2


def test_service_update_without_a_real_units_change_writes_no_history(service, admin_user):
    service_update(
        service=service, actor=admin_user, units="10.00", name="Workstations", unit_price="50"
    )
    service.refresh_from_db()
    assert (service.name, service.unit_price) == ("Workstations", Decimal("50.00"))
    assert ServiceUnitChange.objects.filter(service=service).count() == 1  # only "created"


def test_service_update_refuses_bad_units_and_keeps_the_old(service, admin_user):
    for bad in ("-3", "abc", "0.001"):
        with pytest.raises(InvalidInput) as exc:
            service_update(service=service, actor=admin_user, units=bad)
        assert "units" in exc.value.errors
    with pytest.raises(InvalidInput):
        service_update(service=service, actor=admin_user, contract_id=1)
    service.refresh_from_db()
    assert service.units == Decimal("10")
    assert ServiceUnitChange.objects.filter(service=service).count() == 1


def test_service_update_reads_the_locked_row_not_a_stale_object(service, admin_user):
    """Another writer changed the units since this object was loaded: the history row
    records the value really replaced."""
    stale = Service.objects.get(pk=service.pk)
    service_update(service=service, actor=admin_user, units="20")
    service_update(service=stale, actor=admin_user, units="30")
    rows = list(
        ServiceUnitChange.objects.filter(service=service)
        .order_by("id")
        .values_list("old_units", "new_units")
    )
    assert rows == [
        (None, Decimal("10")),
        (Decimal("10"), Decimal("20")),
        (Decimal("20"), Decimal("30")),
    ]


def test_service_update_locks_the_row(service, admin_user, monkeypatch):
    from django.db.models import QuerySet

    calls = []
    original = QuerySet.select_for_update

    def spy(self, *args, **kwargs):
        calls.append(self.model)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(QuerySet, "select_for_update", spy)
    service_update(service=service, actor=admin_user, units="11")
    assert calls == [Service]


def test_service_delete_removes_the_service(service, admin_user):
    service_delete(service=service, actor=admin_user)
    assert not Service.objects.filter(pk=service.pk).exists()
