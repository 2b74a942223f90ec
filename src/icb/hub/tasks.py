"""Background refresh of every connected company's hub directory (thin: the work is in
services.refresh_directory)."""

import logging

from celery import shared_task

from icb.common.errors import ServiceError
from icb.mapping.tasks import scan_unmapped

from .errors import HubError

log = logging.getLogger(__name__)


@shared_task(name="hub.refresh_directory", ignore_result=True)
def refresh_directory(company_id: int) -> None:
    from icb.tenancy.models import Company

    from . import services

    company = Company.objects.filter(pk=company_id).first()
    if company is None:
        return
    try:
        services.refresh_directory(company=company)
    except (HubError, ServiceError) as exc:
        # Recorded on the connection by the service; the next run tries again.
        log.warning("Directory refresh of company %s failed: %s", company_id, exc)
        return
    # What the organizations that belong to no account use, and suggestions for them.
    scan_unmapped.delay(company_id)


@shared_task(name="hub.refresh_all_directories", ignore_result=True)
def refresh_all_directories() -> None:
    from .models import HubConnection, HubState

    # A broken connection waits for its reconnect: asking the hub again would be refused.
    connected = HubConnection.objects.filter(state=HubState.CONNECTED)
    for company_id in connected.values_list("company_id", flat=True):
        refresh_directory.delay(company_id)
