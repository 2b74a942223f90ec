"""Mapping tests: a company with three hub modules and a few organizations, made directly
(no hub needed), and a connection row so the pages count as connected."""

import pytest

from icb.tenancy.models import Level
from tests.clients import bearer
from tests.factories import (
    make_account,
    make_hub_connection,
    make_module,
    make_org,
    make_role,
    make_user,
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
    return make_hub_connection(company)


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


@pytest.fixture
def api(client, admin_user):
    return bearer(client, admin_user)
