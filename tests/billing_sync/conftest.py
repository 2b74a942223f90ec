"""Fixtures of the sync tests: the sandbox hub connected (the account and contract are the
shared fixtures of tests/fixtures.py), and hub organizations made for each test (fresh
ids, known quantities)."""

import uuid

import pytest

from icb.hub.models import Module
from tests.clients import connect
from tests.factories import make_mapping, make_org, make_service


@pytest.fixture
def connected(hub, admin_client, company):
    """Connected the way an administrator connects: the switch and the hub's sign-in."""
    connect(admin_client)
    return hub


class Orgs:
    """Adds organizations to the sandbox and to the stored directory at once."""

    def __init__(self, sandbox_hub, company):
        self.hub, self.company = sandbox_hub, company

    def add(self, module="rmm", name="Org", parent=None, **quantities):
        external_id = f"t-{uuid.uuid4().hex[:10]}"
        self.hub.add_organization(
            module,
            name,
            id=external_id,
            parent_id=parent.external_id if parent else None,
            quantities={k: str(v) for k, v in quantities.items()},
        )
        return make_org(
            Module.objects.get(company=self.company, code=module),
            external_id,
            name,
            parent=parent.external_id if parent else "",
        )

    def mapped(self, account, module="rmm", name="Org", parent=None, **quantities):
        org = self.add(module, name, parent, **quantities)
        make_mapping(account, org)
        return org


@pytest.fixture
def orgs(connected, company):
    return Orgs(connected, company)


@pytest.fixture
def icb_service(contract, connected, admin_user):
    from icb.billing_sync.services import enable_icb

    service = make_service(contract, "Managed Workstations", units="10")
    return enable_icb(service=service, actor=admin_user, module="rmm", billing_type="workstations")


@pytest.fixture
def auto_review(company):
    """The company applies every change (the seed's behaviour; new companies hold drops
    to zero and drops over half): for tests of the sums the sync writes."""
    from icb.billing_sync.models import ReviewPolicy

    ReviewPolicy.objects.update_or_create(company=company, module=None, defaults={"mode": "auto"})
