"""Unmapped usage: reading from the hub what the organizations that belong to no account
use (set-based, as the sync reads usage: one query per module and 1,000 organizations,
every billing type at once), stored as a snapshot with the figures that price it (the
usual prices) and the accounts whose mapping is incomplete; and the scan, the background
work that reads it and then searches the suggestions, with its progress.

The usual prices and the incomplete mappings read every ICB service: they are computed
here, with the snapshot, so that the page and the API read a few stored rows whatever
the number of services."""

from __future__ import annotations

import logging
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef
from django.utils import timezone

from icb.contracts.models import BillingMode, ContractStatus, Service
from icb.events.models import Event
from icb.events.services import record_event
from icb.events.types import ORGANIZATION_UNMAPPED
from icb.hub.client import USAGE_IDS_PER_REQUEST
from icb.hub.errors import HubError
from icb.hub.models import BillingType, Module, Organization
from icb.hub.services import hub_client
from icb.tenancy.models import Company

from . import suggestions, unmapped_selectors
from .models import (
    IncompleteMapping,
    Mapping,
    UnmappedScan,
    UnmappedScanStep,
    UnmappedUsage,
    UsualPrice,
)

log = logging.getLogger(__name__)

STORE_BATCH = 5000
# A scan that has not finished after this long died with its worker: another may start.
SCAN_STALE = timedelta(minutes=30)
QUANTITY_PLACES = Decimal("0.0001")
QUANTITY_MAX = Decimal("9" * 16)


def read_unmapped_usage(*, company: Company, scan: UnmappedScan | None = None) -> int:
    """Read the usage of every present organization that belongs to no account, and
    store its non-zero quantities in place of the previous snapshot. Nothing is stored
    unless every read worked (a HubError leaves the previous snapshot). Answers the number
    of organizations with usage."""
    modules = list(Module.objects.for_company(company).filter(removed_at__isnull=True))
    types = {
        m.pk: {
            b.code: b
            for b in BillingType.objects.filter(module=m, removed_at__isnull=True).order_by("pk")
        }
        for m in modules
    }
    orgs = {
        m.pk: dict(
            Organization.objects.for_company(company)
            .filter(module=m, removed_at__isnull=True, mapping__isnull=True)
            .values_list("external_id", "pk")
        )
        for m in modules
    }
    total = sum(len(ids) for ids in orgs.values())
    done = 0
    rows: list[UnmappedUsage] = []
    figures = scan_figures(company=company)
    with hub_client(company) as api:
        for module in modules:
            codes = list(types[module.pk])
            ids = sorted(orgs[module.pk])
            if not codes:
                done += len(ids)
                continue
            for start in range(0, len(ids), USAGE_IDS_PER_REQUEST):
                chunk = ids[start : start + USAGE_IDS_PER_REQUEST]
                result = api.usage(module.code, chunk, codes)
                for (ext_id, code), quantity in result.quantities.items():
                    if quantity <= 0:
                        continue
                    rows.append(
                        UnmappedUsage(
                            company=company,
                            module=module,
                            organization_id=orgs[module.pk][ext_id],
                            billing_type=types[module.pk][code],
                            quantity=min(quantity, QUANTITY_MAX).quantize(QUANTITY_PLACES),
                            measured_at=result.measured_at.get((ext_id, code)),
                        )
                    )
                done += len(chunk)
                if scan is not None:
                    _progress(scan, done, total)
    with transaction.atomic():
        UnmappedUsage.objects.for_company(company).delete()
        UnmappedUsage.objects.bulk_create(rows, batch_size=STORE_BATCH)
        store_figures(company=company, figures=figures)
        announce_new(company=company)
    return len({row.organization_id for row in rows})


@dataclass
class ScanFigures:
    """What the scan computes from the services, stored beside the usage snapshot."""

    computed_at: datetime
    prices: dict[tuple[int, int], tuple[Decimal, int]]  # (module, type): (median, services)
    incomplete: list[tuple[int, int, int]]  # (account, module, services)


def scan_figures(*, company: Company) -> ScanFigures:
    """The usual prices (the median unit price of the company's ICB services on contracts
    not ended, per module and billing type) and the accounts with ICB services in a
    module where none of their organizations is mapped. Reads every ICB service: the
    scan's work, never a page's."""
    icb = Service.objects.for_company(company).filter(
        billing_mode=BillingMode.ICB, icb_module__isnull=False
    )
    found: dict[tuple[int, int], list[Decimal]] = {}
    priced = (
        icb.filter(icb_billing_type__isnull=False)
        .exclude(contract__status=ContractStatus.ENDED)
        .values_list("icb_module_id", "icb_billing_type_id", "unit_price")
    )
    for module_id, type_id, price in priced.iterator(chunk_size=5000):
        found.setdefault((module_id, type_id), []).append(price)
    mapped = Mapping.objects.for_company(company).filter(
        account_id=OuterRef("contract__account_id"), module_id=OuterRef("icb_module_id")
    )
    incomplete = (
        icb.exclude(Exists(mapped))
        .values("contract__account_id", "icb_module_id")
        .annotate(services=Count("id"))
        .order_by()
        .values_list("contract__account_id", "icb_module_id", "services")
    )
    return ScanFigures(
        computed_at=timezone.now(),
        prices={
            key: (Decimal(statistics.median(values)), len(values)) for key, values in found.items()
        },
        incomplete=list(incomplete),
    )


def store_figures(*, company: Company, figures: ScanFigures) -> None:
    """Store the scan's figures in place of the previous ones."""
    with transaction.atomic():
        UsualPrice.objects.for_company(company).delete()
        UsualPrice.objects.bulk_create(
            UsualPrice(
                company=company,
                module_id=module_id,
                billing_type_id=type_id,
                unit_price=price,
                services=services,
                computed_at=figures.computed_at,
            )
            for (module_id, type_id), (price, services) in figures.prices.items()
        )
        IncompleteMapping.objects.for_company(company).delete()
        IncompleteMapping.objects.bulk_create(
            (
                IncompleteMapping(
                    company=company, account_id=account_id, module_id=module_id, services=n
                )
                for account_id, module_id, n in figures.incomplete
            ),
            batch_size=STORE_BATCH,
        )


def refresh_figures(*, company: Company) -> None:
    """Compute and store the usual prices and incomplete mappings now (as a scan does)."""
    store_figures(company=company, figures=scan_figures(company=company))


def announce_new(*, company: Company) -> int:
    """Record an `organization.unmapped` event (docs/webhooks.md) for each organization
    of the snapshot that the latest refresh of its module first listed, once: those
    told of already (a second scan after the same refresh) are not told again. In the
    caller's transaction (the outbox). Answers how many were told."""
    with_usage = UnmappedUsage.objects.for_company(company).values("organization_id")
    new = Organization.objects.for_company(company).filter(
        pk__in=with_usage,
        appeared_at__isnull=False,
        appeared_at__gte=F("module__organizations_refreshed_at"),
    )
    ids = list(new.values_list("pk", flat=True))
    if not ids:
        return 0
    items = unmapped_selectors.organizations_by_id(company=company, ids=ids)
    earliest = min(item.appeared_at for item in items.values() if item.appeared_at)
    told = set(
        Event.objects.for_company(company)
        .filter(type=ORGANIZATION_UNMAPPED, created_at__gte=earliest)
        .values_list("payload__module", "payload__organization_id")
    )
    count = 0
    for item in items.values():
        if (item.module, item.organization_id) in told:
            continue
        record_event(
            company=company,
            type=ORGANIZATION_UNMAPPED,
            payload={
                "module": item.module,
                "organization_id": item.organization_id,
                "name": item.name,
                "quantities": {q.billing_type: q.text for q in item.quantities},
                "estimated_monthly_revenue": item.estimated_monthly_revenue
                if item.priced
                else None,
                "currency": company.currency,
            },
        )
        count += 1
    return count


def _progress(scan: UnmappedScan, done: int, total: int) -> None:
    UnmappedScan.objects.filter(pk=scan.pk).update(done=done, total=total)


def start_scan(*, company: Company) -> UnmappedScan | None:
    """Mark the company's scan as started (one at a time: None while another runs)."""
    now = timezone.now()
    with transaction.atomic():
        scan, created = UnmappedScan.objects.select_for_update().get_or_create(
            company=company, defaults={"step": UnmappedScanStep.USAGE, "started_at": now}
        )
        if not created:
            if scan.running and scan.started_at > now - SCAN_STALE:
                return None
            scan.step, scan.started_at, scan.finished_at = UnmappedScanStep.USAGE, now, None
            scan.done = scan.total = 0
            scan.save()
    return scan


def run_scan(*, company: Company) -> UnmappedScan | None:
    """Read the unmapped usage, then search the suggestions, recording the progress on
    the company's scan. A hub failure is recorded (the previous snapshot and suggestions
    stay). None when another scan is running."""
    scan = start_scan(company=company)
    if scan is None:
        return None
    try:
        count = read_unmapped_usage(company=company, scan=scan)
    except HubError as exc:
        _finish(scan, UnmappedScanStep.FAILED, error=exc.message)
        log.warning("Unmapped usage of company %s not read: %s", company.pk, exc.message)
        return scan
    except Exception:
        _finish(scan, UnmappedScanStep.FAILED, error="An unexpected error; it was logged.")
        raise
    UnmappedScan.objects.filter(pk=scan.pk).update(
        step=UnmappedScanStep.SUGGESTIONS, usage_read_at=timezone.now(), done=0, total=0
    )
    try:
        found = suggestions.find_suggestions(
            company=company, progress=lambda done, total: _progress(scan, done, total)
        )
    except Exception:
        _finish(scan, UnmappedScanStep.FAILED, error="An unexpected error; it was logged.")
        raise
    _finish(scan, UnmappedScanStep.DONE)
    log.info(
        "Unmapped usage of company %s: %s organizations with usage, %s suggestions",
        company.pk,
        count,
        found,
    )
    return scan


def _finish(scan: UnmappedScan, step: str, error: str = "") -> None:
    UnmappedScan.objects.filter(pk=scan.pk).update(
        step=step, finished_at=timezone.now(), error=error[:500]
    )
    scan.refresh_from_db()
