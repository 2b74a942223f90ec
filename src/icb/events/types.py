"""The event types and the shape of each one's payload (docs/webhooks.md is the
reference for webhook receivers). Money and units are decimal strings, times ISO 8601
in UTC, ids integers."""

from typing import Literal

SYNC_RUN_FINISHED = "sync_run.finished"
CHANGE_HELD = "change.held"
CHANGE_DECIDED = "change.decided"
ORGANIZATION_UNMAPPED = "organization.unmapped"
# Sent only to one endpoint, by "Send a test event"; never recorded as an event.
WEBHOOK_TEST = "webhook.test"

EventType = Literal["sync_run.finished", "change.held", "change.decided", "organization.unmapped"]

EVENT_TYPES: dict[str, str] = {
    SYNC_RUN_FINISHED: "A sync run finished (nightly, retry or manual)",
    CHANGE_HELD: "A unit change was held for review",
    CHANGE_DECIDED: "A held change was approved, dismissed, adjusted or withdrawn",
    ORGANIZATION_UNMAPPED: "A hub organization with usage belongs to no account",
}
