"""Helpers of the sync tests."""

from datetime import datetime

from icb.billing_sync.dispatch import GroupTask
from icb.billing_sync.groups import sync_group


def run_group_tasks(*tasks: GroupTask, now: datetime | None = None) -> None:
    """Run group tasks here, one after the other, as a worker would take them from the
    queue (tasks.enqueue sends them there)."""
    for task in tasks:
        sync_group(task.run_id, task.batches, now)
