"""Webhook endpoints and their deliveries: create and delete endpoints, hand the outbox's
events to them (the relay), send a delivery's attempts with back-off, and the rule that
disables an endpoint that keeps failing. The nightly digest is in digest.py."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from icb.common.errors import Conflict, InvalidInput, NotFound
from icb.common.validation import full_clean_or_raise
from icb.events.models import Event
from icb.events.types import EVENT_TYPES, WEBHOOK_TEST
from icb.hub.crypto import decrypt, encrypt
from icb.tenancy.models import Company, User

from . import delivery as wire
from .models import (
    DeliveryAttempt,
    DeliveryStatus,
    DigestSubscription,
    WebhookDelivery,
    WebhookEndpoint,
)

log = logging.getLogger(__name__)

RELAY_CHUNK = 500


def _clean_event_types(event_types: list[str]) -> list[str]:
    unknown = [t for t in event_types if t not in EVENT_TYPES]
    if unknown:
        raise InvalidInput(f"Unknown event type “{unknown[0]}”.", field="events")
    if not event_types:
        raise InvalidInput("Choose at least one event.", field="events")
    return [t for t in EVENT_TYPES if t in event_types]  # in the documented order


def endpoint_create(
    *, company: Company, actor: User | None, url: str, event_types: list[str], description: str = ""
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its secret, answered once: only its encryption is stored."""
    url = url.strip()
    endpoint = WebhookEndpoint(
        company=company,
        url=url,
        description=description.strip(),
        created_by=actor,
        secret_encrypted="-",
    )
    endpoint.event_types = _clean_event_types(list(event_types))
    full_clean_or_raise(endpoint)
    wire.check_url(url)
    secret = wire.new_secret()
    endpoint.secret_encrypted = encrypt(secret)
    endpoint.save()
    log.info("Webhook endpoint %s added for company %s", endpoint.pk, company.pk)
    return endpoint, secret


def endpoint_delete(*, company: Company, endpoint_id: int) -> None:
    deleted, _ = WebhookEndpoint.objects.for_company(company).filter(pk=endpoint_id).delete()
    if not deleted:
        raise NotFound("No such webhook.")


def endpoint_enable(*, company: Company, endpoint_id: int, enabled: bool) -> WebhookEndpoint:
    """Turn an endpoint on again (after the failure rule disabled it) or off. Turning it
    off gives up its pending deliveries."""
    endpoint = _endpoint(company, endpoint_id)
    endpoint.enabled = enabled
    endpoint.disabled_reason = "" if enabled else "Disabled by a person."
    endpoint.save(update_fields=["enabled", "disabled_reason"])
    if not enabled:
        _give_up_pending(endpoint)
    return endpoint


def _endpoint(company: Company, endpoint_id: int) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.for_company(company).filter(pk=endpoint_id).first()
    if endpoint is None:
        raise NotFound("No such webhook.")
    return endpoint


def _body(*, message_id: str, event_type: str, at: datetime, data: dict) -> str:
    """The Standard Webhooks payload: {"type", "timestamp", "data"}."""
    return json.dumps(
        {"type": event_type, "timestamp": at, "data": data},
        cls=DjangoJSONEncoder,
        separators=(",", ":"),
    )


def send_test_event(
    *, company: Company, endpoint_id: int, now: datetime | None = None
) -> WebhookDelivery:
    """A `webhook.test` message to one endpoint, attempted at once (in the request, with
    the webhook timeout); retried on failure like any delivery."""
    endpoint = _endpoint(company, endpoint_id)
    if not endpoint.enabled:
        raise Conflict("The webhook is disabled: enable it first.")
    now = now or timezone.now()
    delivery = WebhookDelivery.objects.create(
        company=company,
        endpoint=endpoint,
        message_id="",
        event_type=WEBHOOK_TEST,
        body="",
        next_attempt_at=now,
        created_at=now,
    )
    delivery.message_id = f"msg_test_{delivery.pk}"
    delivery.body = _body(
        message_id=delivery.message_id,
        event_type=WEBHOOK_TEST,
        at=now,
        data={"webhook_id": endpoint.pk, "company": company.name},
    )
    delivery.save(update_fields=["message_id", "body"])
    attempt_delivery(delivery_id=delivery.pk, now=now)
    delivery.refresh_from_db()
    return delivery


def relay_events(*, now: datetime | None = None) -> int:
    """Hand the events not yet relayed to the enabled endpoints of their company that
    take their type: a pending delivery each, due now. Each event is relayed once (it is
    marked in the same transaction). Answers the number of events relayed."""
    now = now or timezone.now()
    relayed = 0
    while True:
        with transaction.atomic():
            events = list(
                Event.objects.filter(relayed_at__isnull=True)
                .select_for_update(skip_locked=True)
                .order_by("id")[:RELAY_CHUNK]
            )
            if not events:
                return relayed
            companies = {e.company_id for e in events}
            endpoints: dict[int, list[WebhookEndpoint]] = {}
            for endpoint in WebhookEndpoint.objects.filter(company_id__in=companies, enabled=True):
                endpoints.setdefault(endpoint.company_id, []).append(endpoint)
            deliveries = [
                WebhookDelivery(
                    company_id=event.company_id,
                    endpoint=endpoint,
                    event=event,
                    message_id=f"msg_{event.pk}",
                    event_type=event.type,
                    body=_body(
                        message_id=f"msg_{event.pk}",
                        event_type=event.type,
                        at=event.created_at,
                        data=event.payload,
                    ),
                    next_attempt_at=now,
                    created_at=now,
                )
                for event in events
                for endpoint in endpoints.get(event.company_id, [])
                if event.type in endpoint.event_types
            ]
            WebhookDelivery.objects.bulk_create(deliveries)
            Event.objects.filter(pk__in=[e.pk for e in events]).update(relayed_at=now)
            relayed += len(events)


def due_deliveries(*, now: datetime | None = None, limit: int = 1000) -> list[int]:
    """Pending deliveries whose next attempt is due and that no worker holds."""
    now = now or timezone.now()
    return list(
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("next_attempt_at", "id")
        .values_list("id", flat=True)[:limit]
    )


def _claim(delivery_id: int, now: datetime) -> bool:
    hold = timedelta(seconds=settings.ICB_WEBHOOK_TIMEOUT + 60)
    return bool(
        WebhookDelivery.objects.filter(
            pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now
        )
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + hold)
    )


def attempt_delivery(*, delivery_id: int, now: datetime | None = None) -> DeliveryAttempt | None:
    """Send a due delivery once and log the attempt: delivered on a 2xx answer; else
    retried after the back-off (delivery.retry_wait), until ICB_WEBHOOK_ATTEMPTS attempts
    have failed and it is given up. `now` is the scheduling clock (what is due, when the
    next attempt is); the signature carries the time of sending. None when the delivery
    is not due or another worker holds it."""
    now = now or timezone.now()
    if not _claim(delivery_id, now):
        return None
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    endpoint = delivery.endpoint
    if not endpoint.enabled:
        _finish(delivery, DeliveryStatus.FAILED, now)
        return None
    secret = decrypt(endpoint.secret_encrypted)
    if not secret:
        answer = wire.Answer(None, "The secret cannot be read (the encryption key changed).", 0)
    else:
        headers = wire.sign(secret, delivery.message_id, timezone.now(), delivery.body)
        answer = wire.post(endpoint.url, delivery.body, headers)
    with transaction.atomic():
        delivery.attempts += 1
        attempt = DeliveryAttempt.objects.create(
            company_id=delivery.company_id,
            delivery=delivery,
            number=delivery.attempts,
            attempted_at=now,
            status_code=answer.status_code,
            error=answer.error[:500],
            duration_ms=answer.duration_ms,
        )
        if answer.ok:
            _finish(delivery, DeliveryStatus.DELIVERED, now)
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(last_success_at=now)
        elif delivery.attempts >= settings.ICB_WEBHOOK_ATTEMPTS:
            _finish(delivery, DeliveryStatus.FAILED, now)
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(last_failure_at=now)
            _disable_if_failing(endpoint, delivery, answer.error)
        else:
            delivery.next_attempt_at = now + wire.retry_wait(delivery.attempts)
            delivery.claimed_until = None
            delivery.save(update_fields=["attempts", "next_attempt_at", "claimed_until"])
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(last_failure_at=now)
    log.info(
        "Webhook delivery %s attempt %s to endpoint %s: %s (%d ms)",
        delivery.pk,
        attempt.number,
        endpoint.pk,
        answer.status_code or answer.error,
        answer.duration_ms,
    )
    return attempt


def _finish(delivery: WebhookDelivery, status: str, now: datetime) -> None:
    delivery.status = status
    delivery.finished_at = now
    delivery.next_attempt_at = None
    delivery.claimed_until = None
    delivery.save(
        update_fields=["status", "attempts", "finished_at", "next_attempt_at", "claimed_until"]
    )


def _disable_if_failing(endpoint: WebhookEndpoint, delivery: WebhookDelivery, error: str) -> None:
    """An endpoint that answered nothing but failures for a delivery's whole retry
    schedule (no success since that delivery was made) is disabled, and its other
    pending deliveries are given up: a person looks at it, fixes the receiver and
    enables it again."""
    endpoint.refresh_from_db(fields=["last_success_at", "enabled"])
    if not endpoint.enabled:
        return
    if endpoint.last_success_at is not None and endpoint.last_success_at >= delivery.created_at:
        return
    endpoint.enabled = False
    endpoint.disabled_reason = (
        f"Disabled after {delivery.attempts} failed attempts without a success. Last: {error}"
    )[:300]
    endpoint.save(update_fields=["enabled", "disabled_reason"])
    _give_up_pending(endpoint)
    log.warning("Webhook endpoint %s disabled: %s", endpoint.pk, endpoint.disabled_reason)


def _give_up_pending(endpoint: WebhookEndpoint) -> None:
    """Its pending deliveries are given up: they would go to a disabled endpoint."""
    WebhookDelivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.FAILED, finished_at=timezone.now(), next_attempt_at=None
    )


def digest_subscribe(*, user: User, subscribed: bool) -> None:
    """The user's own choice, on their profile: the nightly digest by email or not."""
    if user.company_id is None:
        raise InvalidInput("Only a company's users get the digest.")
    if subscribed:
        DigestSubscription.objects.get_or_create(
            user=user, defaults={"company_id": user.company_id}
        )
    else:
        DigestSubscription.objects.filter(user=user).delete()
