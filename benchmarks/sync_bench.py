"""Benchmark: the nightly Integrated Customer Billing sync at MSP scale.

20,000 accounts, 3 modules (rmm, backup, docs), one ICB service per account and module
(60,000 services), 150,000 mapped organizations (the sandbox hub with 50,000
organizations per module, every one mapped). Over HTTP against the sandbox hub, on the
database of DATABASE_URL (a fresh SQLite file by default).

Measured:
  nightly      the dispatcher + every group task, in this process (what the workers run)
  nightly 2    the same again with nothing changed (no history rows)
  floor        the same hub requests + one raw SQL bulk update, nothing else
  naive        one hub call + one save (+ history row) per service, on a sample,
               extrapolated to all services

    python benchmarks/sync_bench.py [--accounts 20000] [--organizations 50000]
                                    [--naive-sample 2000]
"""

import argparse
import os
import resource
import sys
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

MODULES = {"rmm": "workstations", "backup": "protected_devices", "docs": "users"}


def _status_mb(key: str) -> float | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def reset_peak_rss() -> None:
    """Linux: start the peak (VmHWM) again from the current RSS, so the figure is the
    sync's own peak rather than the set-up's."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        pass


def peak_rss_mb() -> float:
    hwm = _status_mb("VmHWM")
    return hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--organizations", type=int, default=50_000,
                        help="organizations per module at the hub, all mapped")
    parser.add_argument("--naive-sample", type=int, default=2_000)
    parser.add_argument("--workers", type=int, default=1,
                        help="group tasks run side by side, as a worker's --concurrency")
    args = parser.parse_args()

    os.environ.setdefault("ICB_DATA_DIR", tempfile.mkdtemp(prefix="icb-bench-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "icb.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, connections, transaction
    from django.utils import timezone

    from icb.billing_sync import engine
    from icb.contracts.models import Contract, Service, ServiceUnitChange
    from icb.crm.models import Account
    from icb.hub import services as hub_services
    from icb.hub.crypto import encrypt
    from icb.hub.models import BillingType, HubConnection, Organization
    from icb.mapping.models import Mapping
    from tests.sandbox_runner import start_sandbox

    call_command("migrate", verbosity=0)
    engine_name = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    print(f"database: {engine_name}; {args.accounts:,} accounts, {len(MODULES)} modules, "
          f"{args.organizations:,} organizations per module")
    with start_sandbox(organizations=args.organizations) as sandbox:
        settings.ICB_HUB_URL = sandbox.url
        settings.ICB_HUB_TIMEOUT = 120
        tokens = sandbox.obtain_tokens()
        from tests.factories import make_company

        company = make_company("Bench MSP")
        HubConnection.objects.create(
            company=company, access_token_encrypted=encrypt(tokens["access_token"]),
            refresh_token_encrypted=encrypt(tokens["refresh_token"]),
            access_token_expires_at=timezone.now() + timedelta(hours=10))

        # --- data --------------------------------------------------------------------------
        started = time.perf_counter()
        now = timezone.now()
        with hub_services.hub_client(company) as api:
            infos = [m for m in api.modules() if m.code in MODULES]
            stored = hub_services._store_modules(company, infos, now)
            for code in MODULES:
                orgs = [o for page in api.organization_pages(code) for o in page]
                hub_services._store_organizations(company, stored[code], orgs, now)
        accounts = Account.objects.bulk_create(
            [Account(company=company, name=f"Customer {i:05d}", code=f"C{i:05d}")
             for i in range(args.accounts)], batch_size=2000)
        contracts = Contract.objects.bulk_create(
            [Contract(company=company, account=a, name="Managed Services",
                      start_date=now.date(), currency="USD") for a in accounts],
            batch_size=2000)
        mappings = []
        for code in MODULES:
            org_ids = Organization.objects.filter(module=stored[code]).order_by(
                "id").values_list("id", flat=True)
            mappings += [Mapping(company=company, account=accounts[i % len(accounts)],
                                 module=stored[code], organization_id=org_id)
                         for i, org_id in enumerate(org_ids)]
        Mapping.objects.bulk_create(mappings, batch_size=5000)
        kinds = {code: BillingType.objects.get(module=stored[code], code=kind)
                 for code, kind in MODULES.items()}
        due = now - timedelta(minutes=1)
        Service.objects.bulk_create(
            [Service(company=company, contract=c, name=f"{code} {kind}",
                     unit_price=Decimal("5.00"), units=Decimal("0"), billing_mode="icb",
                     icb_module=stored[code], icb_billing_type=kinds[code], next_sync_at=due)
             for c in contracts for code, kind in MODULES.items()], batch_size=5000)
        total = Service.objects.count()
        print(f"set-up: {total:,} ICB services, {len(mappings):,} mapped organizations "
              f"({time.perf_counter() - started:.1f} s)")

        # --- the nightly sync, as the workers run it ------------------------------------------
        def nightly(label):
            sandbox.reset_request_counts()
            reset_peak_rss()
            rss_before = _status_mb("VmRSS") or peak_rss_mb()
            t0 = time.perf_counter()
            jobs = engine.dispatch_due(timezone.now() + timedelta(seconds=1), enqueue=False)
            t_dispatch = time.perf_counter() - t0
            if args.workers == 1:
                for job in jobs:
                    engine.sync_group(job.run_id, job.service_ids, job.claim_token)
            else:
                # Like a worker with --concurrency N: group tasks run side by side, each
                # with its own database connection.
                def run_job(job):
                    try:
                        engine.sync_group(job.run_id, job.service_ids, job.claim_token)
                    finally:
                        connections.close_all()

                with ThreadPoolExecutor(max_workers=args.workers) as pool:
                    list(pool.map(run_job, jobs))
            wall = time.perf_counter() - t0
            requests = sandbox.request_counts().get("usage", 0)
            print(f"{label}: {total:,} services in {wall:.1f} s = {total / wall:,.0f} services/s "
                  f"(dispatch {t_dispatch:.2f} s, {len(jobs)} group tasks, {requests} hub "
                  f"usage requests); peak RSS {peak_rss_mb():,.0f} MB "
                  f"(RSS at start {rss_before:,.0f} MB)")
            return wall, requests

        wall, requests = nightly("nightly (all units change)")
        changed = ServiceUnitChange.objects.filter(source="sync").count()
        ok = Service.objects.filter(icb_status="ok").count()
        print(f"  → {ok:,} services ok, {changed:,} history rows")
        Service.objects.update(next_sync_at=due)
        nightly("nightly 2 (nothing changed)")

        # --- the floor: the same hub requests + one raw SQL bulk update -------------------------
        t0 = time.perf_counter()
        orgs_of = defaultdict(list)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT m.module_id, m.account_id, o.external_id FROM mapping_mapping m "
                "JOIN hub_organization o ON o.id = m.organization_id WHERE m.company_id = %s",
                [company.pk])
            for module_id, account_id, external_id in cursor.fetchall():
                orgs_of[(module_id, account_id)].append(external_id)
        rows = list(Service.objects.filter(billing_mode="icb").values_list(
            "id", "contract__account_id", "icb_module_id", "icb_module__code",
            "icb_billing_type__code").order_by("icb_module_id", "id"))
        groups = defaultdict(list)
        for row in rows:
            groups[row[2]].append(row)
        sandbox.reset_request_counts()
        updates = []
        for module_rows in groups.values():
            for start in range(0, len(module_rows), engine.BATCH_SIZE):
                batch = module_rows[start:start + engine.BATCH_SIZE]
                ids = sorted({o for r in batch for o in orgs_of[(r[2], r[1])]})
                kind = batch[0][4]
                usage = engine.fetch_usage(company, batch[0][3], ids, [kind])
                for r in batch:
                    q = sum((usage.quantities[(o, kind)] for o in orgs_of[(r[2], r[1])]),
                            Decimal(0))
                    updates.append((str(q + 1), r[0]))
        t_hub = time.perf_counter() - t0
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany("UPDATE contracts_service SET units = %s WHERE id = %s", updates)
        floor = time.perf_counter() - t0
        print(f"floor: {floor:.1f} s = {total / floor:,.0f} services/s (hub + compute "
              f"{t_hub:.1f} s, {sandbox.request_counts().get('usage', 0)} usage requests; "
              f"one bulk UPDATE {floor - t_hub:.1f} s)")

        # --- naive: one hub call and one save per service -----------------------------------------
        sample = list(Service.objects.select_related("contract", "icb_module", "icb_billing_type")
                      .order_by("id")[: args.naive_sample])
        sandbox.reset_request_counts()
        t0 = time.perf_counter()
        with hub_services.hub_client(company) as api:
            for service in sample:
                ids = orgs_of[(service.icb_module_id, service.contract.account_id)]
                kind = service.icb_billing_type.code
                usage = api.usage(service.icb_module.code, ids, [kind])
                units = sum((usage.quantities[(o, kind)] for o in ids), Decimal(0))
                old, service.units = service.units, units
                service.save()
                ServiceUnitChange.objects.create(company=company, service=service,
                                                 old_units=old, new_units=units,
                                                 source="sync")
        naive = time.perf_counter() - t0
        per = naive / len(sample)
        print(f"naive: {len(sample):,} services in {naive:.1f} s ({per * 1000:.1f} ms each, "
              f"{sandbox.request_counts().get('usage', 0)} usage requests) → "
              f"{total:,} services ≈ {per * total:,.0f} s = {1 / per:,.0f} services/s")
        print(f"summary: nightly {wall:.1f} s, floor {floor:.1f} s, naive ≈ {per * total:,.0f} s "
              f"({per * total / wall:.0f}× the nightly)")


if __name__ == "__main__":
    main()
