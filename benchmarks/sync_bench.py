"""Benchmark: the nightly Integrated Customer Billing sync at MSP scale.

20,000 accounts, 3 modules (rmm, backup, docs), one ICB service per account and module
(60,000 services), 150,000 mapped organizations (the sandbox hub with 50,000
organizations per module, every one mapped). Over HTTP against the sandbox hub, on the
database of DATABASE_URL (a fresh SQLite file by default).

Measured:
  nightly      the dispatcher enqueues, a real Celery worker (a separate process, as
               `make run` starts it: --concurrency 2 by default) runs the group tasks;
               timed from the dispatch until every run has finished. Redis as the broker
               when it answers on 127.0.0.1:6379, else the default SQLite broker.
  in-process   the same dispatcher and group-task code called in this one process, one
               task after the other (no broker, no second process)
  floor        the same hub requests + one raw SQL bulk update, nothing else
  naive        one hub call + one save (+ history row) per service, on a sample,
               extrapolated to all services
Each nightly is run twice: every service's units change (a history row each), then
nothing changes (the usual night).

    python benchmarks/sync_bench.py [--accounts 20000] [--organizations 50000]
                                    [--naive-sample 2000] [--workers 2] [--profile]
                                    [--policy default|auto|hold_all]
"""

import argparse
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src")]  # the product and the sandbox hub, not tests/

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


class Worker:
    """A real Celery worker process (prefork pool) on the benchmark's database."""

    def __init__(self, concurrency: int, log_path: Path):
        self.log_path = log_path
        self.log = open(log_path, "w")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "icb",
                "worker",
                "--concurrency",
                str(concurrency),
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel",
                "INFO",
            ],
            env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while "ready." not in log_path.read_text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("The Celery worker did not start:\n" + log_path.read_text())
            time.sleep(0.2)

    def pids(self) -> list[int]:
        found = [self.process.pid]
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    with open(f"/proc/{pid}/stat") as stat:
                        if int(stat.read().rsplit(")", 1)[1].split()[1]) == self.process.pid:
                            found.append(int(pid))
                except (OSError, IndexError, ValueError):
                    continue
        return found

    def reset_peak_rss(self) -> None:
        for pid in self.pids():
            try:
                with open(f"/proc/{pid}/clear_refs", "w") as refs:
                    refs.write("5")
            except OSError:
                pass

    def peak_rss_mb(self) -> float:
        """The largest peak of the worker's processes (each child syncs its own tasks)."""
        peaks = [0.0]
        for pid in self.pids():
            try:
                with open(f"/proc/{pid}/status") as status:
                    peaks += [
                        int(line.split()[1]) / 1024 for line in status if line.startswith("VmHWM:")
                    ]
            except OSError:
                continue
        return max(peaks)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        self.log.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument(
        "--organizations",
        type=int,
        default=50_000,
        help="organizations per module at the hub, all mapped",
    )
    parser.add_argument("--naive-sample", type=int, default=2_000)
    parser.add_argument(
        "--policy",
        choices=["default", "auto", "hold_all"],
        default="default",
        help="the company's review policy: default (drops to zero and drops over half "
        "held: nothing of this benchmark), auto (every change applied), or hold_all "
        "(every change held: a held change per service, seen again the next night)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="print where the first nightly run spends its time (cProfile)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="the Celery worker's --concurrency (the product's default: 2)",
    )
    args = parser.parse_args()

    os.environ.setdefault("ICB_DATA_DIR", tempfile.mkdtemp(prefix="icb-bench-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "icb.settings")
    os.environ["ICB_TASKS_EAGER"] = "0"
    from sandbox_hub.local_redis import redis_up

    broker = "redis" if redis_up() else "sqlite"
    if broker == "redis":
        os.environ["ICB_BROKER_URL"] = "redis://127.0.0.1:6379/14"
    import django

    django.setup()
    from builders import (
        make_accounts,
        make_company,
        make_contracts,
        make_icb_services,
        map_organizations,
    )
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from icb.billing_sync.dispatch import BATCH_SIZE, dispatch_due
    from icb.billing_sync.groups import sync_group
    from icb.billing_sync.tasks import enqueue
    from icb.contracts.models import Service, ServiceUnitChange
    from icb.hub import services as hub_services
    from icb.hub.crypto import encrypt
    from icb.hub.models import BillingType, HubConnection, Organization
    from sandbox_hub.runner import start_sandbox

    call_command("migrate", verbosity=0)
    engine_name = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    print(
        f"database: {engine_name}; {args.accounts:,} accounts, {len(MODULES)} modules, "
        f"{args.organizations:,} organizations per module; review policy: {args.policy}"
    )
    with start_sandbox(organizations=args.organizations) as sandbox:
        settings.ICB_HUB_URL = os.environ["ICB_HUB_URL"] = sandbox.url
        settings.ICB_HUB_TIMEOUT = 120
        os.environ["ICB_HUB_TIMEOUT"] = "120"
        tokens = sandbox.obtain_tokens()
        company = make_company(time_zone="America/New_York")
        if args.policy != "default":
            from icb.billing_sync.models import ReviewPolicy

            ReviewPolicy.objects.create(company=company, mode=args.policy)
        HubConnection.objects.create(
            company=company,
            access_token_encrypted=encrypt(tokens["access_token"]),
            refresh_token_encrypted=encrypt(tokens["refresh_token"]),
            access_token_expires_at=timezone.now() + timedelta(hours=10),
        )

        # --- data --------------------------------------------------------------------------
        started = time.perf_counter()
        now = timezone.now()
        with hub_services.hub_client(company) as api:
            infos = [m for m in api.modules() if m.code in MODULES]
            stored = hub_services._store_modules(company, infos, now)
            for code in MODULES:
                orgs = [o for page in api.organization_pages(code) for o in page]
                hub_services._store_organizations(company, stored[code], orgs, now)
        accounts = make_accounts(company, args.accounts)
        contracts = make_contracts(company, accounts, now.date())
        mapped = 0
        for code in MODULES:
            org_ids = (
                Organization.objects.filter(module=stored[code])
                .order_by("id")
                .values_list("id", flat=True)
            )
            mapped += len(
                map_organizations(
                    company,
                    stored[code],
                    ((accounts[i % len(accounts)].pk, org_id) for i, org_id in enumerate(org_ids)),
                )
            )
        kinds = {
            code: BillingType.objects.get(module=stored[code], code=kind)
            for code, kind in MODULES.items()
        }
        due = now - timedelta(minutes=1)
        make_icb_services(company, contracts, kinds, next_sync_at=due)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")  # what autovacuum would do after such a load
        total = Service.objects.count()
        print(
            f"set-up: {total:,} ICB services, {mapped:,} mapped organizations "
            f"({time.perf_counter() - started:.1f} s)"
        )

        # --- the nightly sync, as the workers run it ------------------------------------------
        from icb.billing_sync.models import SyncRun
        from icb.celery import app

        def nightly(label, worker=None):
            sandbox.reset_request_counts()
            if worker:
                worker.reset_peak_rss()
            else:
                reset_peak_rss()
            rss_before = _status_mb("VmRSS") or peak_rss_mb()
            t0 = time.perf_counter()
            tasks = dispatch_due(timezone.now() + timedelta(seconds=1))
            if worker:
                enqueue(tasks)
            t_dispatch = time.perf_counter() - t0
            if worker:
                runs = SyncRun.objects.filter(pk__in={task.run_id for task in tasks})
                while runs.filter(finished_at__isnull=True).exists():
                    if worker.process.poll() is not None:
                        raise SystemExit("The worker died:\n" + worker.log_path.read_text())
                    time.sleep(0.05)
            else:
                for task in tasks:
                    sync_group(task.run_id, task.batches)
            wall = time.perf_counter() - t0
            requests = sandbox.request_counts().get("usage", 0)
            peak = worker.peak_rss_mb() if worker else peak_rss_mb()
            where = (
                f"worker peak RSS {peak:,.0f} MB per process"
                if worker
                else f"peak RSS {peak:,.0f} MB (RSS at start {rss_before:,.0f} MB)"
            )
            print(
                f"{label}: {total:,} services in {wall:.1f} s = {total / wall:,.0f} services/s "
                f"(dispatch {t_dispatch:.2f} s, {len(tasks)} group tasks, {requests} hub "
                f"usage requests); {where}"
            )
            return wall

        def settle():
            """Nights are a day apart: PostgreSQL's autovacuum has cleaned the row versions
            of the last night before the next one starts."""
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(
                        "VACUUM ANALYZE contracts_service, "
                        "contracts_serviceunitchange, billing_sync_syncrunitem"
                    )

        def all_change():
            Service.objects.update(units=Decimal("0"), next_sync_at=due)
            settle()

        def none_change():
            Service.objects.update(next_sync_at=due)
            settle()

        if broker == "redis":
            app.control.purge()
        worker = Worker(args.workers, Path(os.environ["ICB_DATA_DIR"]) / "bench-worker.log")
        try:
            label = f"Celery worker, --concurrency {args.workers}, {broker} broker"
            wall = nightly(f"nightly, {label}, all units change", worker)
            changed = ServiceUnitChange.objects.filter(source="sync").count()
            ok = Service.objects.filter(icb_status="ok").count()
            print(f"  → {ok:,} services ok, {changed:,} history rows")
            none_change()
            wall_same = nightly(f"nightly, {label}, nothing changes", worker)
        finally:
            worker.stop()

        all_change()
        if args.profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.enable()
        wall_in = nightly("in-process, all units change")
        if args.profile:
            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
        none_change()
        wall_in_same = nightly("in-process, nothing changes")

        # --- the floor: the same hub requests + one raw SQL bulk update -------------------------
        t0 = time.perf_counter()
        orgs_of = defaultdict(list)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT m.module_id, m.account_id, o.external_id FROM mapping_mapping m "
                "JOIN hub_organization o ON o.id = m.organization_id WHERE m.company_id = %s",
                [company.pk],
            )
            for module_id, account_id, external_id in cursor.fetchall():
                orgs_of[(module_id, account_id)].append(external_id)
        rows = list(
            Service.objects.filter(billing_mode="icb")
            .values_list(
                "id",
                "contract__account_id",
                "icb_module_id",
                "icb_module__code",
                "icb_billing_type__code",
            )
            .order_by("icb_module_id", "id")
        )
        groups = defaultdict(list)
        for row in rows:
            groups[row[2]].append(row)
        sandbox.reset_request_counts()
        updates = []
        api = hub_services.hub_client(company)
        for module_rows in groups.values():
            for start in range(0, len(module_rows), BATCH_SIZE):
                batch = module_rows[start : start + BATCH_SIZE]
                ids = sorted({o for r in batch for o in orgs_of[(r[2], r[1])]})
                kind = batch[0][4]
                usage = api.usage(batch[0][3], ids, [kind])
                for r in batch:
                    q = sum(
                        (usage.quantities[(o, kind)] for o in orgs_of[(r[2], r[1])]), Decimal(0)
                    )
                    updates.append((str(q + 1), r[0]))
        api.close()
        t_hub = time.perf_counter() - t0
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":  # its fastest form: a join with VALUES
                for start in range(0, len(updates), 1000):
                    chunk = updates[start : start + 1000]
                    cursor.execute(
                        "UPDATE contracts_service SET units = CAST(v.units AS NUMERIC(12, 2)) "
                        f"FROM (VALUES {', '.join(['(%s, %s)'] * len(chunk))}) AS v(units, id) "
                        "WHERE contracts_service.id = v.id",
                        [value for row in chunk for value in row],
                    )
            else:
                cursor.executemany("UPDATE contracts_service SET units = %s WHERE id = %s", updates)
        floor = time.perf_counter() - t0
        print(
            f"floor: {floor:.1f} s = {total / floor:,.0f} services/s (hub + compute "
            f"{t_hub:.1f} s, {sandbox.request_counts().get('usage', 0)} usage requests; "
            f"one bulk UPDATE {floor - t_hub:.1f} s)"
        )

        # --- naive: one hub call and one save per service -----------------------------------------
        sample = list(
            Service.objects.select_related("contract", "icb_module", "icb_billing_type").order_by(
                "id"
            )[: args.naive_sample]
        )
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
                ServiceUnitChange.objects.create(
                    company=company, service=service, old_units=old, new_units=units, source="sync"
                )
        naive = time.perf_counter() - t0
        per = naive / len(sample)
        print(
            f"naive: {len(sample):,} services in {naive:.1f} s ({per * 1000:.1f} ms each, "
            f"{sandbox.request_counts().get('usage', 0)} usage requests) → "
            f"{total:,} services ≈ {per * total:,.0f} s = {1 / per:,.0f} services/s"
        )
        naive_total = per * total
        print(f"summary: floor {floor:.1f} s, naive ≈ {naive_total:,.0f} s")
        for name, seconds in (
            ("nightly, all change", wall),
            ("nightly, none change", wall_same),
            ("in-process, all change", wall_in),
            ("in-process, none change", wall_in_same),
        ):
            print(
                f"  {name:<26} {seconds:5.1f} s = {seconds / floor:.1f}× the floor, "
                f"{naive_total / seconds:.0f}× faster than naive"
            )


if __name__ == "__main__":
    main()
