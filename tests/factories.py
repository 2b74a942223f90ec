"""Plain functions that build test data. Accounts, contracts, services and users are made
through the services, so the rules a user meets apply to test data too (a factory call
with invalid data fails the way a form would); companies, roles, hub modules,
organizations, connections and mappings are rows written directly, as the product's own
code writes them (the hub's directory and tokens come from the hub, not from a form)."""

import datetime

from django.utils import timezone

from icb.tenancy.models import Company, Role, User
from icb.tenancy.services import ensure_built_in_roles, user_create

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
    return user_create(
        company=company, actor=None, email=email, full_name="", role=role, password=PASSWORD
    )


def make_account(
    company: Company, name: str = "Harbor Dental Group", code: str | None = None, **fields
):
    from icb.crm.services import account_create

    code = code or name.upper().replace(" ", "-")[:20]
    return account_create(company=company, actor=None, name=name, code=code, **fields)


def make_contract(account, name: str = "Managed Services", **fields):
    from icb.contracts.services import contract_create

    fields.setdefault("start_date", datetime.date(2026, 1, 1))
    fields.setdefault("currency", "USD")
    fields.setdefault("billing_frequency", "monthly")
    return contract_create(
        company=account.company, actor=None, account_id=account.pk, name=name, **fields
    )


def make_service(
    contract,
    name: str = "Managed Workstations",
    unit_price: str = "45.00",
    units: str = "10",
    **state,
):
    """A manual service; its unit history starts with the "created" row, as in the product.
    ``state``: columns no service sets at creation (``billing_mode="icb"``…), written
    afterwards, for a test that needs that state without enabling ICB for real."""
    from icb.contracts.models import Service
    from icb.contracts.services import service_create

    service = service_create(
        contract=contract, actor=None, name=name, unit_price=unit_price, units=units
    )
    if state:
        Service.objects.filter(pk=service.pk).update(**state)
        service.refresh_from_db()
    return service


def make_module(company: Company, code: str, name: str):
    from icb.hub.models import Module

    return Module.objects.create(company=company, code=code, name=name)


def make_org(module, external_id: str, name: str, parent: str = "", **fields):
    """An organization of the stored hub directory (``parent``: the parent's external id)."""
    from icb.hub.models import Organization

    return Organization.objects.create(
        company=module.company,
        module=module,
        external_id=external_id,
        name=name,
        parent_external_id=parent,
        **fields,
    )


def make_hub_connection(company: Company, tokens: dict | None = None, *, read_directory=False):
    """The company's stored hub connection, as the product keeps it after a sign-in (tokens
    encrypted at rest). ``tokens`` from the sandbox (``sandbox.obtain_tokens()``) make a
    working one, and ``read_directory`` then reads the hub's modules and organizations;
    without tokens the connection only counts as connected (pages, no hub calls). Tests
    of the sign-in itself go through the pages instead (tests.clients.connect)."""
    from icb.hub import services as hub_services
    from icb.hub.crypto import encrypt
    from icb.hub.models import HubConnection

    tokens = tokens or {"access_token": "dummy-access", "refresh_token": "dummy-refresh"}
    connection = HubConnection.objects.create(
        company=company,
        access_token_encrypted=encrypt(tokens["access_token"]),
        refresh_token_encrypted=encrypt(tokens["refresh_token"]),
        access_token_expires_at=timezone.now()
        + datetime.timedelta(seconds=int(tokens.get("expires_in") or 3600)),
        scope=tokens.get("scope", ""),
    )
    if read_directory:
        hub_services.refresh_directory(company=company)
    return connection


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
