"""Celery tasks of the sync engine: thin, ids only (the work is in engine.py)."""

from celery import shared_task


@shared_task(name="billing_sync.dispatch", ignore_result=True)
def dispatch_task() -> int:
    """Beat runs this every minute: claim due services and enqueue their groups."""
    from .engine import dispatch_due

    return len(dispatch_due())


@shared_task(name="billing_sync.sync_group", ignore_result=True)
def sync_group_task(run_id: int, service_ids: list[int], claim_token: str) -> None:
    from .engine import sync_group

    sync_group(run_id, service_ids, claim_token)
