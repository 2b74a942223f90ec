"""Celery task of invoicing: thin, the run's id only."""

from celery import shared_task
from django.db import transaction

from .runs import build_run


@shared_task(name="invoicing.build_run", ignore_result=True)
def build_run_task(run_id: int) -> None:
    build_run(run_id)


def enqueue_build(run_id: int) -> None:
    """Build the run in a worker once the caller's transaction has committed."""
    transaction.on_commit(lambda: build_run_task.delay(run_id))
