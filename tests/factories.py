"""Plain functions that build test data through the services (so rules apply)."""

import datetime
from decimal import Decimal

from icb.tenancy.models import Company, Role, User
from icb.tenancy.services import ensure_built_in_roles

PASSWORD = "Correct-Horse-42"


def make_company(name: str, time_zone: str = "America/New_York") -> Company:
    company = Company.objects.create(name=name, time_zone=time_zone)
    ensure_built_in_roles(company)
    return company


def make_role(company: Company, name: str, **levels) -> Role:
    return Role.objects.create(company=company, name=name, **levels)


def make_user(company: Company, email: str, role: str | Role = "Administrator") -> User:
    if isinstance(role, str):
        role = Role.objects.get(company=company, name=role)
    return User.objects.create_user(email, PASSWORD, company=company, role=role)


def make_account(
    company: Company, name: str = "Harbor Dental Group", code: str | None = None, **fields
):
    from icb.crm.models import Account

    code = code or name.upper().replace(" ", "-")[:20]
    return Account.objects.create(company=company, name=name, code=code, **fields)


def make_contract(account, name: str = "Managed Services", **fields):
    from icb.contracts.models import Contract

    fields.setdefault("start_date", datetime.date(2026, 1, 1))
    fields.setdefault("currency", "USD")
    return Contract.objects.create(company=account.company, account=account, name=name, **fields)


def make_service(
    contract,
    name: str = "Managed Workstations",
    unit_price: str = "45.00",
    units: str = "10",
    **fields,
):
    from icb.contracts.models import Service

    return Service.objects.create(
        company=contract.company,
        contract=contract,
        name=name,
        unit_price=Decimal(unit_price),
        units=Decimal(units),
        **fields,
    )


def make_mapping(account, organization, user=None):
    """Map a hub organization to an account directly (the mapping pages are elsewhere)."""
    from icb.mapping.models import Mapping

    return Mapping.objects.create(
        company=account.company,
        account=account,
        module=organization.module,
        organization=organization,
        created_by=user,
    )
