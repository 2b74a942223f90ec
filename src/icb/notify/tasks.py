"""Background work of notify: relay the outbox to webhook deliveries, send each due
delivery, and send the nightly digests (all three on the beat schedule, settings.py)."""

import logging

from celery import shared_task

from . import digest, services

log = logging.getLogger(__name__)


@shared_task(name="notify.relay")
def relay() -> int:
    """Make the deliveries of new events, then hand each due delivery to a worker."""
    relayed = services.relay_events()
    due = services.due_deliveries()
    for delivery_id in due:
        deliver.delay(delivery_id)
    if relayed or due:
        log.info("Webhooks: %d events relayed, %d deliveries due", relayed, len(due))
    return len(due)


@shared_task(name="notify.deliver")
def deliver(delivery_id: int) -> None:
    services.attempt_delivery(delivery_id=delivery_id)


@shared_task(name="notify.send_digests")
def send_digests() -> int:
    return digest.send_due_digests()
