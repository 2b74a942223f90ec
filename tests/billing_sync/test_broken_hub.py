"""While the hub connection is broken (the hub refused its tokens), a nightly records the
services as failed with the reason and keeps their units, and the dispatcher leaves the
company's services alone (no retry storm) until it is reconnected."""

from decimal import Decimal

import httpx
import pytest
from django.utils import timezone

from icb.billing_sync.dispatch import dispatch_due
from icb.billing_sync.models import SyncRun
from icb.billing_sync.services import enable_icb, sync_now
from icb.contracts.models import BillingMode, Service
from icb.hub.crypto import decrypt
from icb.hub.models import HubConnection, HubState
from tests.billing_sync.helpers import run_group_tasks
from tests.clients import connect
from tests.factories import (
    make_account,
    make_company,
    make_contract,
    make_hub_connection,
    make_module,
    make_service,
)

pytestmark = pytest.mark.django_db


def _due(*services) -> None:
    Service.objects.filter(pk__in=[s.pk for s in services]).update(next_sync_at=timezone.now())


@pytest.mark.usefixtures("auto_review")
def test_a_nightly_with_refused_tokens_fails_visibly_then_waits_for_reconnect(
    connected, orgs, company, account, admin_user, admin_client
):
    services = []
    for n, quantity in enumerate((4, 6)):
        customer = account if n == 0 else make_account(company, "Other Customer", "OTHER")
        service = make_service(make_contract(customer), "Managed Workstations", units="10")
        service = enable_icb(
            service=service, actor=admin_user, module="rmm", billing_type="workstations"
        )
        orgs.mapped(customer, workstations=quantity)
        services.append(sync_now(service=service, actor=admin_user))
    assert [s.units for s in services] == [Decimal("4.00"), Decimal("6.00")]
    # The hub forgets our tokens (restarted without its state).
    refresh = decrypt(HubConnection.objects.get(company=company).refresh_token_encrypted)
    httpx.post(
        f"{connected.url}/oauth/revoke", data={"token": refresh}, auth=("icb", "icb-sandbox-secret")
    ).raise_for_status()
    for n, service in enumerate(services):
        connected.set_quantity("rmm", orgs_of(service), "workstations", str(20 + n))
    connected.reset_request_counts()

    _due(*services)
    tasks = dispatch_due()
    run_group_tasks(*tasks)
    connection = HubConnection.objects.get(company=company)
    assert connection.state == HubState.BROKEN
    for service in services:
        service.refresh_from_db()
        assert service.icb_status == "error" and service.units in (4, 6)
        assert "connection to Integration Hub is lost" in service.icb_message
        assert connection.last_error in service.icb_message
    run = SyncRun.objects.get(pk=tasks[0].run_id)
    assert run.services_failed == 2 and "lost" in str(run.errors)
    asked = sum(connected.request_counts().values())
    assert asked <= 3  # one usage read refused, one refresh refused (and nothing after)

    # While broken: due, but never claimed; the hub hears nothing.
    _due(*services)
    assert dispatch_due() == []
    assert sum(connected.request_counts().values()) == asked
    assert not Service.objects.filter(company=company, sync_claimed_until__gt=timezone.now())

    # Reconnected: the next dispatch syncs them.
    connect(admin_client)
    tasks = dispatch_due()
    assert sorted(i for task in tasks for i in task.service_ids) == [s.pk for s in services]
    run_group_tasks(*tasks)
    for n, service in enumerate(services):
        service.refresh_from_db()
        assert (service.icb_status, service.units) == ("ok", Decimal(20 + n))


def orgs_of(service) -> str:
    from icb.mapping.models import Mapping

    return (
        Mapping.objects.filter(account=service.contract.account, module__code="rmm")
        .values_list("organization__external_id", flat=True)
        .get()
    )


def test_the_dispatcher_skips_only_broken_companies(company):
    other = make_company("Other MSP")
    due = []
    for owner in (company, other):
        make_hub_connection(owner)
        module = make_module(owner, "rmm", "RMM")
        kind = module.billing_types.create(code="workstations", name="Workstations")
        due.append(
            make_service(
                make_contract(make_account(owner, "Customer", "C")),
                billing_mode=BillingMode.ICB,
                icb_module=module,
                icb_billing_type=kind,
                next_sync_at=timezone.now(),
            )
        )
    HubConnection.objects.filter(company=company).update(state=HubState.BROKEN)
    tasks = dispatch_due()
    assert [i for task in tasks for i in task.service_ids] == [due[1].pk]
    HubConnection.objects.filter(company=company).update(state=HubState.CONNECTED)
    assert [i for task in dispatch_due() for i in task.service_ids] == [due[0].pk]
