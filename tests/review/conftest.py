"""Fixtures of the Billing review tests: a synced ICB service whose hub number can be
moved, and a held change made by a real sync against the sandbox hub."""

from decimal import Decimal

import pytest

from icb.billing_sync.models import HeldChange
from icb.billing_sync.services import sync_now
from tests.billing_sync.conftest import auto_review, connected, icb_service, orgs  # noqa: F401


class Synced:
    """An ICB service synced at `units`, and its one organization at the hub."""

    def __init__(self, hub, service, org, actor):
        self.hub, self.service, self.org, self.actor = hub, service, org, actor

    def report(self, quantity) -> None:
        self.hub.set_quantity("rmm", self.org.external_id, "workstations", str(quantity))

    def sync(self):
        self.service = sync_now(service=self.service, actor=self.actor)
        return self.service

    def hold(self, quantity) -> HeldChange:
        """Sync with the hub at `quantity`, a number the policy holds: its held change."""
        self.report(quantity)
        self.sync()
        return HeldChange.objects.get(service=self.service, status="pending")


@pytest.fixture
def synced(icb_service, orgs, account, admin_user, connected):  # noqa: F811
    org = orgs.mapped(account, workstations=50)
    service = sync_now(service=icb_service, actor=admin_user)
    assert service.units == Decimal("50.00")
    return Synced(connected, service, org, admin_user)
