"""Mapping tests: a company with three hub modules and a few organizations, made directly
(no hub needed), and a connection row so the pages count as connected."""

import pytest

from icb.hub.crypto import encrypt
from icb.hub.models import HubConnection, Module, Organization
from icb.tenancy.models import Level
from icb.tenancy.services import api_token_create
from tests.factories import make_account, make_role, make_user


def make_module(company, code, name):
    return Module.objects.create(company=company, code=code, name=name)


def make_org(module, ext_id, name, parent="", **fields):
    return Organization.objects.create(
        company=module.company,
        module=module,
        external_id=ext_id,
        name=name,
        parent_external_id=parent,
        **fields,
    )


def connect_directly(company):
    return HubConnection.objects.create(
        company=company,
        access_token_encrypted=encrypt("dummy-access"),
        refresh_token_encrypted=encrypt("dummy-refresh"),
    )


@pytest.fixture
def modules(company):
    """Backup, Documentation, Phishing, RMM (name order) — four, so a fourth column exists."""
    return {
        code: make_module(company, code, name)
        for code, name in [
            ("rmm", "RMM"),
            ("backup", "Backup"),
            ("docs", "Documentation"),
            ("phish", "Phishing Training"),
        ]
    }


@pytest.fixture
def orgs(modules):
    rmm, backup = modules["rmm"], modules["backup"]
    return {
        "harbor": make_org(rmm, "R-100", "Harbor Dental"),
        "harbor-east": make_org(rmm, "R-101", "Harbor Dental East", parent="R-100"),
        "harbor-west": make_org(rmm, "R-102", "Harbor Dental West", parent="R-100"),
        "cedar": make_org(rmm, "R-200", "Cedar Law"),
        "idle": make_org(rmm, "R-300", "Idle Corp", status="inactive"),
        "gone": make_org(rmm, "R-400", "Gone Ltd", removed_at="2026-01-01T00:00:00Z"),
        "cancelled": make_org(rmm, "R-500", "Cancelled Co", status="cancelled"),
        "b-harbor": make_org(backup, "B-1", "Harbor Dental Backup"),
    }


@pytest.fixture
def accounts(company):
    return {
        "harbor": make_account(company, "Harbor Dental Group", "HDG"),
        "cedar": make_account(company, "Cedar Law Partners", "CLP"),
        "old": make_account(company, "Old Client", "OLD", is_active=False),
    }


@pytest.fixture
def connected(company):
    return connect_directly(company)


@pytest.fixture
def viewer(company):
    role = make_role(company, "Mapping viewer", hub_settings=Level.VIEW, crm_accounts=Level.VIEW)
    return make_user(company, "viewer@acme.test", role=role)


@pytest.fixture
def editor(company):
    role = make_role(company, "Mapping editor", hub_settings=Level.MODIFY, crm_accounts=Level.VIEW)
    return make_user(company, "editor@acme.test", role=role)


@pytest.fixture
def outsider(company):
    role = make_role(company, "CRM only", crm_accounts=Level.VIEW)
    return make_user(company, "crm@acme.test", role=role)


def bearer(client, user):
    _, raw = api_token_create(user=user, name="tests")
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
    return client


@pytest.fixture
def api(client, admin_user):
    return bearer(client, admin_user)
