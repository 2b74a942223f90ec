"""Celery tasks of the sync engine: thin, ids only. The dispatcher (dispatch.py) answers
the group tasks; this module enqueues them, and a worker runs each (groups.py)."""

from celery import shared_task

from .dispatch import Batch, GroupTask, dispatch_due
from .groups import sync_group
from .services import run_company_preview


@shared_task(name="billing_sync.dispatch", ignore_result=True)
def dispatch_task() -> int:
    """Beat runs this every minute: claim the due services and enqueue their group
    tasks."""
    tasks = dispatch_due()
    enqueue(tasks)
    return len(tasks)


def enqueue(tasks: list[GroupTask]) -> None:
    """Send each group task to a worker, as its run id and its batches' claims."""
    for task in tasks:
        sync_group_task.delay(task.run_id, [batch.as_message() for batch in task.batches])


@shared_task(name="billing_sync.sync_group", ignore_result=True)
def sync_group_task(run_id: int, batches: list[list]) -> None:
    """One group task: batches, each as [claim token, module id, first id, last id]."""
    sync_group(run_id, [Batch.from_message(batch) for batch in batches])


@shared_task(name="billing_sync.preview_company", ignore_result=True)
def preview_company_task(preview_id: int) -> None:
    """A company-wide sync preview (services.run_company_preview)."""
    run_company_preview(preview_id)
