"""The nightly digest: composed from a real nightly run (against the sandbox hub) and the
outbox's events, mailed through a real SMTP server to the opted-in users of that company
only, once per night, and not at all when nothing happened."""

import datetime
import uuid
from decimal import Decimal

import pytest
from django.utils import timezone

from icb.billing_sync.dispatch import dispatch_due
from icb.billing_sync.groups import sync_group
from icb.billing_sync.models import SyncRun
from icb.billing_sync.services import enable_icb
from icb.contracts.models import Service
from icb.events.models import Event
from icb.events.services import record_event
from icb.notify import digest, services
from icb.notify.models import Digest
from tests.clients import connect
from tests.factories import (
    make_account,
    make_contract,
    make_mapping,
    make_org,
    make_role,
    make_service,
    make_user,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def connected(hub, admin_client):
    connect(admin_client)
    return hub


def _org(hub, company, name, **quantities):
    from icb.hub.models import Module

    external_id = f"d-{uuid.uuid4().hex[:10]}"
    hub.add_organization(
        "rmm", name, id=external_id, quantities={k: str(v) for k, v in quantities.items()}
    )
    return make_org(Module.objects.get(company=company, code="rmm"), external_id, name)


def _icb_service(contract, name, price="45.00", units="10"):
    service = make_service(contract, name, unit_price=price, units=units)
    service = enable_icb(service=service, actor=None, module="rmm", billing_type="workstations")
    Service.objects.filter(pk=service.pk).update(
        next_sync_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    return service


def _nightly():
    for task in dispatch_due():
        sync_group(task.run_id, task.batches, None)
    return SyncRun.objects.filter(trigger="nightly").latest("id")


@pytest.fixture
def night(connected, company, account, contract, admin_user):
    """A nightly run: one service grows from 10 to 14 units at 45.00 USD, one fails (its
    organization is gone from the hub)."""
    make_mapping(account, _org(connected, company, "Harbor Dental", workstations=14))
    _icb_service(contract, "Managed Workstations")
    other = make_account(company, "Bay Clinic", "BAY")
    gone = _org(connected, company, "Bay Old Site", workstations=3)
    make_mapping(other, gone)
    _icb_service(make_contract(other, "Bay Managed"), "Bay Workstations")
    connected.remove_organization("rmm", gone.external_id)
    return _nightly()


def test_the_digest_reaches_the_opted_in_users_of_the_company_by_smtp(
    night, smtp, company, other_company, admin_user
):
    services.digest_subscribe(user=admin_user, subscribed=True)
    finance = make_user(company, "finance@acme.test", "Finance")
    services.digest_subscribe(user=finance, subscribed=True)
    make_user(company, "quiet@acme.test", "Finance")  # did not ask
    crm_only = make_user(company, "crm@acme.test", make_role(company, "CRM", crm_accounts="modify"))
    services.digest_subscribe(user=crm_only, subscribed=True)  # may not see contracts
    rival = make_user(other_company, "boss@rival.test", "Administrator")
    services.digest_subscribe(user=rival, subscribed=True)
    record_event(
        company=company,
        type="change.held",
        payload={
            "held_change_id": 5,
            "service_id": 1,
            "service_name": "Backup Seats",
            "current_units": "50.00",
            "proposed_units": "0.00",
            "rule": "drop_to_zero",
            "monthly_impact": Decimal("-1250.00"),
            "currency": "USD",
        },
    )
    record_event(
        company=company,
        type="organization.unmapped",
        payload={
            "module": "rmm",
            "organization_id": "x1",
            "name": "Northwind Traders",
            "quantities": {"workstations": "8"},
            "estimated_monthly_revenue": "360.00",
            "currency": "USD",
        },
    )

    assert digest.send_due_digests() == 1

    assert sorted(to for _, [to] in smtp.envelopes) == ["admin@acme.test", "finance@acme.test"]
    message = smtp.messages[0]
    assert message["From"] == "ICB <icb@acme.test>"
    assert message["Subject"].startswith("ICB nightly sync, Acme MSP, ")
    assert "1 changed, 1 held for review, 1 failed, 1 new unmapped" in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "CHANGES APPLIED: 1" in text
    assert (
        "- Harbor Dental Group / Managed Services / Managed Workstations: "
        "10.00 → 14.00 units (180.00 USD a month)"
    ) in text
    assert "Monthly increases: 180.00 USD" in text
    assert "HELD FOR REVIEW: 1" in text and "-1,250.00 USD" in text
    assert "Backup Seats: 50.00 → 0.00 (drop_to_zero)" in text
    assert "FAILURES: 1" in text and "Bay Workstations" in text
    assert "NEW UNMAPPED ORGANIZATIONS: 1" in text and "Northwind Traders (rmm): 360.00 USD" in text
    # Times in the company's zone (New York), not UTC.
    local = timezone.localtime(night.started_at, company.zone)
    assert local.strftime("%Y-%m-%d %H:%M") + " E" in text  # EST or EDT
    assert "<h2" in html and "180.00 USD" in html and "Northwind Traders" in html
    stored = Digest.objects.get(company=company)
    assert stored.recipients == 2 and stored.summary["changed"] == 1
    assert stored.night == local.date()

    # Once per night: nothing more is sent for it.
    assert digest.send_due_digests() == 0
    assert len(smtp.messages) == 2


def test_nothing_is_sent_when_nothing_happened(
    connected, smtp, company, account, contract, admin_user
):
    make_mapping(account, _org(connected, company, "Steady Co", workstations=10))
    _icb_service(contract, "Managed Workstations", units="10")
    services.digest_subscribe(user=admin_user, subscribed=True)
    run = _nightly()
    assert run.services_unchanged == 1

    assert digest.send_due_digests() == 1

    assert smtp.messages == []
    stored = Digest.objects.get(company=company)
    assert stored.recipients == 0 and stored.summary["changed"] == 0


def test_no_digest_while_a_run_of_the_company_is_open(night, smtp, company, admin_user):
    services.digest_subscribe(user=admin_user, subscribed=True)
    SyncRun.objects.create(company=company, trigger="retry", batches_total=1)
    assert digest.send_due_digests() == 0 and smtp.messages == []
    SyncRun.objects.filter(finished_at__isnull=True).update(finished_at=timezone.now())
    assert digest.send_due_digests() == 1 and len(smtp.messages) == 1


def test_a_finished_nightly_run_records_its_event(night):
    [event] = Event.objects.filter(type="sync_run.finished")
    assert event.company_id == night.company_id
    assert event.payload["run_id"] == night.pk
    assert (event.payload["trigger"], event.payload["status"]) == ("nightly", "finished")
    assert (event.payload["changed"], event.payload["failed"]) == (1, 1)
    assert event.payload["finished_at"].endswith("Z")


def test_a_nightly_run_reaches_a_webhook_signed(night, company, receiver):
    endpoint, receiver.secret = services.endpoint_create(
        company=company, actor=None, url=receiver.url, event_types=["sync_run.finished"]
    )
    services.relay_events()
    for delivery_id in services.due_deliveries():
        services.attempt_delivery(delivery_id=delivery_id)
    [message] = receiver.verified()
    assert message["type"] == "sync_run.finished"
    assert (message["data"]["run_id"], message["data"]["changed"]) == (night.pk, 1)
    assert endpoint.deliveries.get().status == "delivered"


def test_a_mail_server_that_refuses_is_recorded(night, company, admin_user, settings):
    services.digest_subscribe(user=admin_user, subscribed=True)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 1  # nothing listens there
    settings.EMAIL_USE_TLS = False
    assert digest.send_due_digests() == 1
    stored = Digest.objects.get(company=company)
    assert stored.recipients == 0 and stored.error.startswith("Could not send: ")
