"""The unmapped usage scan in the background (thin: the work is in unmapped.run_scan).
The hub's periodic directory refresh starts it for its company when it is done."""

import logging

from celery import shared_task

from icb.tenancy.models import Company

from .unmapped import run_scan

log = logging.getLogger(__name__)


@shared_task(name="mapping.scan_unmapped", ignore_result=True)
def scan_unmapped(company_id: int) -> None:
    company = Company.objects.filter(pk=company_id).first()
    if company is None:
        return
    if run_scan(company=company) is None:
        log.info("Unmapped usage scan of company %s already running", company_id)
