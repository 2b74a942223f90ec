"""Webhooks against a real receiver: signed per Standard Webhooks and verified by the
reference library, retried with back-off, logged per attempt, disabled after a whole
retry schedule of failures, refused for private addresses, kept to their company."""

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from icb.common.errors import InvalidInput
from icb.events.models import Event
from icb.events.services import record_event
from icb.hub.crypto import decrypt
from icb.notify import delivery, services, tasks
from icb.notify.models import DeliveryAttempt, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db


def _endpoint(company, receiver, events=("sync_run.finished",)):
    endpoint, secret = services.endpoint_create(
        company=company, actor=None, url=receiver.url, event_types=list(events)
    )
    receiver.secret = secret
    return endpoint


def _deliver_all(now=None):
    services.relay_events(now=now)
    return [
        services.attempt_delivery(delivery_id=i, now=now) for i in services.due_deliveries(now=now)
    ]


def test_a_signed_event_is_verified_by_its_receiver(company, receiver):
    endpoint = _endpoint(company, receiver)
    event = record_event(
        company=company,
        type="sync_run.finished",
        payload={"run_id": 7, "trigger": "nightly", "changed": 3},
    )

    [attempt] = _deliver_all()

    [received] = receiver.received
    assert received.problem == "" and received.verified == {
        "type": "sync_run.finished",
        "timestamp": received.verified["timestamp"],
        "data": {"run_id": 7, "trigger": "nightly", "changed": 3},
    }
    assert received.headers["webhook-id"] == f"msg_{event.pk}"
    assert received.headers["webhook-signature"].startswith("v1,")
    assert received.headers["content-type"] == "application/json"
    assert attempt.status_code == 200 and attempt.error == "" and attempt.number == 1
    stored = WebhookDelivery.objects.get(endpoint=endpoint)
    assert (stored.status, stored.attempts, stored.event_id) == ("delivered", 1, event.pk)
    assert Event.objects.get(pk=event.pk).relayed_at is not None
    assert _deliver_all() == []  # relayed once, delivered once


def test_a_wrong_secret_fails_verification(company, receiver):
    _endpoint(company, receiver)
    receiver.secret = delivery.new_secret()  # the receiver holds another secret
    record_event(company=company, type="sync_run.finished", payload={"run_id": 1})
    [attempt] = _deliver_all()
    assert receiver.received[0].problem == "No matching signature found"
    assert attempt.status_code == 401 and attempt.error == "Answered HTTP 401."


def test_a_failing_receiver_is_retried_with_back_off_until_it_accepts(company, receiver, settings):
    settings.ICB_WEBHOOK_RETRY_BASE = 60
    settings.ICB_WEBHOOK_MAX_RETRY_WAIT = 3600
    endpoint = _endpoint(company, receiver)
    receiver.answers = [500, 503]
    record_event(company=company, type="sync_run.finished", payload={"run_id": 1})
    start = timezone.now()

    [first] = _deliver_all(now=start)
    item = WebhookDelivery.objects.get(endpoint=endpoint)
    assert (first.status_code, item.status) == (500, "pending")
    assert item.next_attempt_at == start + timedelta(seconds=60)
    # Not due before its time.
    assert services.due_deliveries(now=start + timedelta(seconds=59)) == []
    assert services.attempt_delivery(delivery_id=item.pk, now=start + timedelta(seconds=59)) is None

    second = services.attempt_delivery(delivery_id=item.pk, now=item.next_attempt_at)
    item.refresh_from_db()
    assert second.status_code == 503
    assert item.next_attempt_at == second.attempted_at + timedelta(seconds=120)  # doubled

    third = services.attempt_delivery(delivery_id=item.pk, now=item.next_attempt_at)
    item.refresh_from_db()
    assert (third.status_code, item.status, item.attempts) == (200, "delivered", 3)
    log = list(DeliveryAttempt.objects.filter(delivery=item).order_by("number"))
    assert [(a.number, a.status_code, a.error) for a in log] == [
        (1, 500, "Answered HTTP 500."),
        (2, 503, "Answered HTTP 503."),
        (3, 200, ""),
    ]
    assert all(a.duration_ms >= 0 for a in log)
    # Every attempt carried the same message id, each signed and verified.
    assert {r.headers["webhook-id"] for r in receiver.received} == {item.message_id}
    assert len(receiver.verified()) == 3
    endpoint.refresh_from_db()
    assert endpoint.enabled and endpoint.last_success_at == third.attempted_at


def test_the_back_off_doubles_up_to_its_cap(settings):
    settings.ICB_WEBHOOK_RETRY_BASE = 60
    settings.ICB_WEBHOOK_MAX_RETRY_WAIT = 300
    waits = [delivery.retry_wait(n).total_seconds() for n in range(1, 6)]
    assert waits == [60, 120, 240, 300, 300]


def test_an_endpoint_failing_a_whole_schedule_is_disabled(company, receiver, settings):
    settings.ICB_WEBHOOK_ATTEMPTS = 3
    endpoint = _endpoint(company, receiver)
    receiver.answers = [500] * 10
    record_event(company=company, type="sync_run.finished", payload={"run_id": 1})
    record_event(company=company, type="sync_run.finished", payload={"run_id": 2})
    now = timezone.now()
    services.relay_events(now=now)
    first, second = WebhookDelivery.objects.filter(endpoint=endpoint).order_by("id")
    for _ in range(3):
        services.attempt_delivery(delivery_id=first.pk, now=now)
        now += timedelta(hours=5)
    first.refresh_from_db()
    second.refresh_from_db()
    endpoint.refresh_from_db()
    assert (first.status, first.attempts) == ("failed", 3)
    assert not endpoint.enabled
    assert endpoint.disabled_reason.startswith("Disabled after 3 failed attempts")
    assert "HTTP 500" in endpoint.disabled_reason
    assert second.status == "failed"  # given up with its endpoint
    assert services.due_deliveries(now=now) == []
    # New events are not delivered to it until a person enables it again.
    record_event(company=company, type="sync_run.finished", payload={"run_id": 3})
    services.relay_events(now=now)
    assert WebhookDelivery.objects.filter(endpoint=endpoint).count() == 2
    services.endpoint_enable(company=company, endpoint_id=endpoint.pk, enabled=True)
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).disabled_reason == ""


def test_a_success_within_the_schedule_keeps_the_endpoint(company, receiver, settings):
    settings.ICB_WEBHOOK_ATTEMPTS = 2
    endpoint = _endpoint(company, receiver)
    record_event(company=company, type="sync_run.finished", payload={"run_id": 1})
    record_event(company=company, type="sync_run.finished", payload={"run_id": 2})
    now = timezone.now()
    services.relay_events(now=now)
    first, second = WebhookDelivery.objects.filter(endpoint=endpoint).order_by("id")
    receiver.answers = [500]
    services.attempt_delivery(delivery_id=first.pk, now=now)  # fails
    services.attempt_delivery(delivery_id=second.pk, now=now)  # succeeds
    receiver.answers = [500]
    services.attempt_delivery(delivery_id=first.pk, now=now + timedelta(hours=1))
    first.refresh_from_db()
    endpoint.refresh_from_db()
    assert first.status == "failed" and endpoint.enabled


def test_events_go_only_to_their_companys_endpoints_of_their_type(company, other_company, receiver):
    mine = _endpoint(company, receiver, events=["change.held"])
    theirs = _endpoint(other_company, receiver, events=["change.held", "sync_run.finished"])
    record_event(company=company, type="change.held", payload={"held_change_id": 1})
    record_event(company=company, type="sync_run.finished", payload={"run_id": 1})
    services.relay_events()
    assert list(WebhookDelivery.objects.values_list("endpoint_id", "event_type")) == [
        (mine.pk, "change.held")
    ]
    assert not WebhookDelivery.objects.filter(endpoint=theirs).exists()
    assert WebhookDelivery.objects.for_company(other_company).count() == 0


def test_the_secret_is_encrypted_at_rest_and_never_logged(company, receiver, caplog):
    caplog.set_level(logging.DEBUG)
    endpoint, secret = services.endpoint_create(
        company=company, actor=None, url=receiver.url, event_types=["sync_run.finished"]
    )
    receiver.secret = secret
    assert secret.startswith("whsec_") and len(secret) > 40
    stored = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert secret not in stored.secret_encrypted and decrypt(stored.secret_encrypted) == secret
    services.send_test_event(company=company, endpoint_id=endpoint.pk)
    assert receiver.verified()[0]["type"] == "webhook.test"
    assert secret not in caplog.text and secret.removeprefix("whsec_") not in caplog.text


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9000/hook",
        "http://localhost/hook",
        "https://10.1.2.3/hook",
        "https://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "ftp://93.184.216.34/hook",
        "https://user:pw@93.184.216.34/hook",
        "not a url",
        "https://",
    ],
)
def test_private_and_odd_urls_are_refused(company, settings, url):
    settings.ICB_WEBHOOKS_ALLOW_PRIVATE = False
    with pytest.raises(InvalidInput) as refused:
        services.endpoint_create(
            company=company, actor=None, url=url, event_types=["sync_run.finished"]
        )
    assert "url" in refused.value.errors
    assert not WebhookEndpoint.objects.exists()


def test_a_public_address_is_accepted(company, settings):
    settings.ICB_WEBHOOKS_ALLOW_PRIVATE = False
    endpoint, _ = services.endpoint_create(
        company=company, actor=None, url="https://93.184.216.34/hook", event_types=["change.held"]
    )
    assert endpoint.url == "https://93.184.216.34/hook"


def test_a_url_that_turned_private_is_not_contacted(company, receiver, settings):
    endpoint = _endpoint(company, receiver)
    settings.ICB_WEBHOOKS_ALLOW_PRIVATE = False  # e.g. the name now resolves to loopback
    record_event(company=company, type="sync_run.finished", payload={"run_id": 1})
    [attempt] = _deliver_all()
    assert attempt.status_code is None and "private or local address" in attempt.error
    assert receiver.received == []
    assert WebhookDelivery.objects.get(endpoint=endpoint).status == "pending"


def test_the_tasks_are_thin_calls_of_the_services(company, receiver):
    _endpoint(company, receiver)
    record_event(company=company, type="sync_run.finished", payload={"run_id": 9})
    services.relay_events()
    [delivery_id] = services.due_deliveries()
    tasks.deliver(delivery_id)  # as the worker runs it
    assert WebhookDelivery.objects.get(pk=delivery_id).status == "delivered"
    assert receiver.verified()[0]["data"] == {"run_id": 9}
    assert tasks.send_digests() == 0  # no night has finished
