"""Celery tasks of the sync engine: thin, ids only (the work is in engine.py)."""

from celery import shared_task


@shared_task(name="billing_sync.dispatch", ignore_result=True)
def dispatch_task() -> int:
    """Beat runs this every minute: claim due services and enqueue their groups."""
    from .engine import dispatch_due

    return len(dispatch_due())


@shared_task(name="billing_sync.sync_group", ignore_result=True)
def sync_group_task(run_id: int, batches: list[list]) -> None:
    """A group of batches, each as [claim token, module id, first id, last id]."""
    from .engine import Batch, sync_batches

    sync_batches(run_id, [Batch.from_message(batch) for batch in batches])
