"""What a sync run tells the outbox (icb.events) when it finishes: the payload of
`sync_run.finished` (docs/webhooks.md)."""

from typing import Any

from .models import SyncRun


def run_finished_payload(run: SyncRun) -> dict[str, Any]:
    return {
        "run_id": run.pk,
        "trigger": run.trigger,
        "status": run.status,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "changed": run.services_changed,
        "unchanged": run.services_unchanged,
        "failed": run.services_failed,
        "mapping_incomplete": run.services_incomplete,
        "held": run.services_held,
        "errors": run.errors or [],
    }
