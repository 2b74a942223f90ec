"""Benchmark: an invoice run at MSP scale.

N accounts (default 20,000), one monthly contract each with 3 services (60,000), a year
of unit history (`--changes` per service per month, default 2: 1.44 million rows), in
advance; October 2026 built and finalized (in bulk, by SQL: the set-up, not measured),
then the November run timed: it reads the unit history and October's records, computes
the lines with their adjustments and bulk-inserts the drafts. On the database of
DATABASE_URL (a fresh SQLite file by default).

Measured:
  run     runs.build_run of November, in this process (what the worker does)
  floor   one SQL aggregate of the unit history up to the period's end, grouped by
          service, plus one bulk insert of as many lines (rolled back)
  memory  the peak resident size during the run (VmHWM, reset before it)
Targets (issue 13): under 30 s at 20,000 accounts / 60,000 services, within 2× the
floor, under 500 MB.

    python benchmarks/invoicing_bench.py [--accounts 20000] [--changes 2]
"""

import argparse
import os
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

TARGET_SECONDS = 30.0
TARGET_RATIO = 2.0
TARGET_MB = 500.0
SERVICES_PER_CONTRACT = 3
HISTORY_START = date(2025, 11, 1)
CONTRACT_START = date(2025, 11, 1)


def peak_rss_mb() -> float:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak_rss() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        pass


def build_world(accounts: int, changes_per_month: int):
    from benchmarks.builders import make_accounts, make_company, make_contracts

    from icb.contracts.models import Service, ServiceUnitChange

    company = make_company("Invoicing Bench MSP")
    contracts = make_contracts(company, make_accounts(company, accounts), CONTRACT_START)
    services = Service.objects.bulk_create(
        [
            Service(
                company=company,
                contract=contract,
                name=f"Service {n}",
                unit_price=Decimal("4.50"),
                units=Decimal("10"),
                start_date=CONTRACT_START,
            )
            for contract in contracts
            for n in range(SERVICES_PER_CONTRACT)
        ],
        batch_size=5000,
    )
    rng = random.Random(13)
    rows = []
    written = 0
    for service in services:
        moment = datetime(2025, 11, 1, 12, tzinfo=UTC)
        rows.append(
            ServiceUnitChange(
                company=company,
                service=service,
                old_units=None,
                new_units=Decimal("10"),
                source="created",
                changed_at=moment,
                effective_date=CONTRACT_START,
            )
        )
        for month in range(12):
            for _ in range(changes_per_month):
                day = date(2025 + (10 + month) // 12, (10 + month) % 12 + 1, rng.randint(1, 28))
                rows.append(
                    ServiceUnitChange(
                        company=company,
                        service=service,
                        old_units=None,
                        new_units=Decimal(rng.randint(1, 60)),
                        source="user",
                        changed_at=datetime(day.year, day.month, day.day, 12, tzinfo=UTC),
                        effective_date=day,
                    )
                )
        if len(rows) >= 50_000:
            ServiceUnitChange.objects.bulk_create(rows, batch_size=5000)
            written += len(rows)
            rows = []
    ServiceUnitChange.objects.bulk_create(rows, batch_size=5000)
    return company, written + len(rows)


def finalize_october_by_sql(company) -> None:
    """October built by the product, then made final in bulk (set-up only)."""
    from django.db import models
    from django.db.models import F, Value
    from django.db.models.functions import Cast, Concat

    from icb.invoicing import runs
    from icb.invoicing.models import Invoice

    run, _ = runs.start_run(company=company, actor=None, period_start=date(2026, 10, 1))
    runs.build_run(run.pk, today=date(2026, 9, 30))
    Invoice.objects.filter(run=run).update(
        status="final",
        number=Concat(Value("BENCH-"), Cast(F("id"), models.CharField())),
        issue_date=date(2026, 10, 1),
        due_date=date(2026, 10, 31),
    )


def floor_seconds(company, lines: int) -> float:
    from django.db import transaction
    from django.db.models import Count, Max

    from icb.contracts.models import ServiceUnitChange
    from icb.invoicing.models import Invoice, InvoiceLine

    started = time.perf_counter()
    list(
        ServiceUnitChange.objects.filter(company=company, effective_date__lte=date(2026, 11, 30))
        .values("service_id")
        .annotate(n=Count("id"), last=Max("effective_date"))
    )
    with transaction.atomic():
        invoice = Invoice.objects.filter(company=company).first()
        InvoiceLine.objects.bulk_create(
            [
                InvoiceLine(
                    company=company,
                    invoice=invoice,
                    kind="recurring",
                    description="floor",
                    quantity=Decimal("1"),
                    unit_price=Decimal("1"),
                    amount=Decimal("1"),
                    tax=Decimal("0"),
                )
                for _ in range(lines)
            ],
            batch_size=2000,
        )
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--changes", type=int, default=2, help="per service per month")
    args = parser.parse_args()

    os.environ.setdefault("ICB_DATA_DIR", tempfile.mkdtemp(prefix="icb-bench-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "icb.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from icb.invoicing import runs
    from icb.invoicing.models import Invoice, InvoiceLine

    call_command("migrate", verbosity=0)
    print(f"database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}")
    started = time.perf_counter()
    company, history = build_world(args.accounts, args.changes)
    finalize_october_by_sql(company)
    print(
        f"set-up: {args.accounts:,} accounts, {args.accounts * SERVICES_PER_CONTRACT:,} "
        f"services, {history:,} history rows, October final "
        f"({time.perf_counter() - started:.1f} s)"
    )

    run, _ = runs.start_run(company=company, actor=None, period_start=date(2026, 11, 1))
    reset_peak_rss()
    started = time.perf_counter()
    runs.build_run(run.pk, today=date(2026, 10, 28))
    elapsed = time.perf_counter() - started
    peak = peak_rss_mb()
    run.refresh_from_db()
    invoices = Invoice.objects.filter(run=run).count()
    lines = InvoiceLine.objects.filter(invoice__run=run).count()
    floor = floor_seconds(company, lines)
    ratio = elapsed / floor if floor else float("inf")
    print(f"run:    {elapsed:7.2f} s  ({run.status}: {invoices:,} drafts, {lines:,} lines)")
    print(f"floor:  {floor:7.2f} s  (one aggregate of the history + one bulk insert of the lines)")
    print(f"ratio:  {ratio:7.2f} ×  (target ≤ {TARGET_RATIO:.0f}×)")
    print(f"target: {TARGET_SECONDS:7.2f} s  {'met' if elapsed < TARGET_SECONDS else 'MISSED'}")
    print(f"memory: {peak:7.0f} MB peak during the run (target < {TARGET_MB:.0f} MB)")
    if run.status != "done":
        raise SystemExit("The run did not finish: " + run.message)


if __name__ == "__main__":
    main()
