"""Benchmark: the nightly Integrated Customer Billing sync at MSP scale.

60,000 ICB services by default: 20,000 accounts, 3 modules (rmm, backup, docs), one
service per account and module, 150,000 mapped organizations (the sandbox hub with
50,000 organizations per module, every one mapped: 2.5 per account and module). Over
HTTP against the sandbox hub, on the database of DATABASE_URL (a fresh SQLite file by
default).

Measured, each night timed from the dispatch until every run has finished:
  nightly      the dispatcher enqueues, a real Celery worker (a separate process, as
               `make run` starts it: --concurrency 2) runs the group tasks. Redis as the
               broker when it answers on 127.0.0.1:6379, else the SQLite broker.
  in-process   the same dispatcher (sizing its group tasks for one worker) and group-task
               code called in this one process, one task after the other
  floor        the same hub requests + one raw SQL bulk update, nothing else
  naive        one hub call + one save (+ history row) per service, on a sample,
               extrapolated to all services
Each nightly is run twice: every service's units change (a history row each), then
nothing changes (the usual night).

    python benchmarks/sync_bench.py [--services 60000] [--profile]
        [--policy default|auto|hold_all]  the company's review policy
        [--workers 1,2,4]           also the scaling table: the all-change night with
                                    1, 2, 4 worker processes, CPU seconds per process
        [--databases sqlite,postgresql] [--postgres URL]
                                    each database in turn, on a fresh database of the
                                    PostgreSQL server at URL (default DATABASE_URL, else
                                    postgres://postgres@127.0.0.1:5432/), then a summary
        [--services 60000,600000]   each size in turn (with --databases: each pair; the
                                    scaling table at the smallest size, on PostgreSQL)
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT / "src")]  # the product and the sandbox hub, not tests/

MODULES = {"rmm": "workstations", "backup": "protected_devices", "docs": "users"}
RESULT = "RESULT "  # the line a single run prints for the summary of several
FRESH_DATABASE = "icb_sync_bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--services", default="60000", help="ICB services, or a list: 60000,600000")
    parser.add_argument(
        "--organizations-per-service",
        type=float,
        default=2.5,
        help="mapped organizations per account and module (default 2.5)",
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
    parser.add_argument("--concurrency", type=int, default=2, help="the nightly worker's")
    parser.add_argument(
        "--workers", default="", help="worker processes for the scaling table, e.g. 1,2,4"
    )
    parser.add_argument("--databases", default="", help="sqlite, postgresql or both")
    parser.add_argument("--postgres", default="", help="a PostgreSQL server's URL")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="print where the in-process all-change night spends its time (py-spy, all "
        "threads, when installed; else cProfile, this thread)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="the in-process nights and the floor only"
    )
    args = parser.parse_args()
    sizes = [int(size) for size in args.services.split(",")]
    if args.databases or len(sizes) > 1:
        run_several(args, sizes)
    else:
        run_one(args, sizes[0])


# --- several databases and sizes: one process each, then a summary ------------------------


def postgres_server(args) -> str | None:
    """The PostgreSQL server to use, as a URL without its database, if one answers."""
    import psycopg

    url = args.postgres or os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        url = "postgres://postgres@127.0.0.1:5432/postgres"
    try:
        psycopg.connect(url, connect_timeout=3).close()
    except psycopg.Error:
        return None
    return url


def fresh_database(server: str) -> str:
    """An empty database on the server (dropped and made again); answers its URL."""
    import psycopg

    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {FRESH_DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {FRESH_DATABASE}")
    return server.rsplit("/", 1)[0] + "/" + FRESH_DATABASE


def drop_database(server: str) -> None:
    import psycopg

    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {FRESH_DATABASE} WITH (FORCE)")


def run_several(args, sizes: list[int]) -> None:
    databases = [d.strip() for d in (args.databases or "sqlite").split(",") if d.strip()]
    server = postgres_server(args) if "postgresql" in databases else None
    if "postgresql" in databases and server is None:
        print("PostgreSQL: no server answers (--postgres or DATABASE_URL); left out")
        databases.remove("postgresql")
    results = []
    for database in databases:
        for size in sizes:
            env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "ICB_DATA_DIR")}
            if database == "postgresql":
                assert server is not None
                env["DATABASE_URL"] = fresh_database(server)
            command = [sys.executable, "-u", __file__, "--services", str(size)]
            command += ["--naive-sample", str(args.naive_sample)]
            command += ["--concurrency", str(args.concurrency), "--policy", args.policy]
            command += ["--organizations-per-service", str(args.organizations_per_service)]
            if args.workers and database == "postgresql" and size == min(sizes):
                command += ["--workers", args.workers]
            command += ["--quick"] * args.quick + ["--profile"] * args.profile
            print(f"\n-- {database}, {size:,} services --", flush=True)
            with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) as child:
                assert child.stdout is not None
                for line in child.stdout:
                    if line.startswith(RESULT):
                        results.append(json.loads(line[len(RESULT) :]))
                    else:
                        print(line, end="", flush=True)
            if database == "postgresql":
                assert server is not None
                drop_database(server)
            if child.returncode:
                raise SystemExit(child.returncode)
    print_summary(results)


def print_summary(results: list[dict]) -> None:
    print("\n== nightly sync: wall time (× its floor); target ≤ 1.5× the floor, ≥ 30× naive ==")
    rows = [
        ("nightly, Celery worker, all units change", "worker_all"),
        ("nightly, Celery worker, nothing changes", "worker_none"),
        ("in-process, all units change", "inprocess_all"),
        ("in-process, nothing changes", "inprocess_none"),
    ]
    heads = [f"{r['database']} {r['services'] // 1000:,}k" for r in results]
    print(f"| {'':<42} | " + " | ".join(f"{h:>22}" for h in heads) + " |")
    for label, key in rows:
        cells = []
        for r in results:
            if not r[key]:  # --quick: not run
                cells.append("")
                continue
            ratio = r[key] / r["floor"]
            mark = "" if ratio <= 1.5 and r["naive"] / r[key] >= 30 else " ✗"
            cells.append(f"{r[key]:6.1f} s ({ratio:.2f}×){mark}")
        print(f"| {label:<42} | " + " | ".join(f"{c:>22}" for c in cells) + " |")
    for label, value in (
        ("floor", lambda r: f"{r['floor']:.1f} s"),
        ("naive (extrapolated)", lambda r: f"≈ {r['naive']:,.0f} s"),
        ("least × faster than naive", lambda r: f"{r['naive'] / r['slowest']:.0f}×"),
        ("dispatch (all change, worker)", lambda r: f"{r['dispatch']:.2f} s"),
        ("worker peak RSS per process", lambda r: f"{r['worker_rss']:.0f} MB"),
        ("in-process: RSS added by the sync", lambda r: f"{r['inprocess_rss_added']:.0f} MB"),
    ):
        print(f"| {label:<42} | " + " | ".join(f"{value(r):>22}" for r in results) + " |")


# --- one database, one size ------------------------------------------------------------------


def run_one(args, services: int) -> None:
    accounts = max(1, services // len(MODULES))
    organizations = round(accounts * args.organizations_per_service)
    if "ICB_DATA_DIR" not in os.environ:  # its own, removed at the end (600,000: 1.2 GB)
        data_dir = tempfile.TemporaryDirectory(prefix="icb-sync-bench-")
        os.environ["ICB_DATA_DIR"] = data_dir.name
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "icb.settings")
    os.environ["ICB_TASKS_EAGER"] = "0"
    from sandbox_hub.local_redis import redis_up

    broker = "redis" if redis_up() else "sqlite"
    if broker == "redis":
        os.environ["ICB_BROKER_URL"] = "redis://127.0.0.1:6379/14"
        # Its own keys: other benchmarks and test runs may share this Redis.
        os.environ["ICB_BROKER_KEY_PREFIX"] = f"sync-bench-{os.getpid()}:"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from sandbox_hub.runner import start_sandbox

    call_command("migrate", verbosity=0)
    engine_name = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    print(
        f"database: {engine_name}; {accounts:,} accounts, {len(MODULES)} modules, "
        f"{organizations:,} organizations per module; review policy: {args.policy}"
    )
    # A large hub generates its organizations before it answers (a minute at 1.5 million).
    with start_sandbox(organizations=organizations, timeout=60 + organizations / 5000) as sandbox:
        bench = Bench(args, sandbox, broker)
        bench.build(accounts)
        result = bench.measure()
    result["database"] = "PostgreSQL" if connection.vendor == "postgresql" else "SQLite"
    print(RESULT + json.dumps(result), flush=True)


@contextmanager
def profiled(enabled: bool) -> Iterator[None]:
    """Print where the time went: py-spy (every thread, sampled from outside) when it is
    installed, else cProfile (this thread only: not the group task's hub reader)."""
    if not enabled:
        yield
        return
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if Path(spy).exists():
        out = Path(tempfile.mkdtemp()) / "profile.txt"
        command = [spy, "record", "--pid", str(os.getpid()), "--threads", "--rate", "250"]
        command += ["--format", "raw", "--output", str(out)]
        sampler = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1)  # attached
        try:
            yield
        finally:
            sampler.send_signal(signal.SIGINT)
            sampler.wait(30)
            print_spy_profile(out)
        return
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    try:
        yield
    finally:
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)


def print_spy_profile(path: Path, top: int = 45) -> None:
    """py-spy's folded stacks as the share of samples per thread, per function (own
    time) and per function of this project (time within it)."""
    threads: dict[str, int] = defaultdict(int)
    own: dict[str, int] = defaultdict(int)
    within: dict[str, int] = defaultdict(int)
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        n = int(count)
        total += n
        threads[frames[0]] += n
        own[frames[-1]] += n
        for frame in set(frames[1:]):
            if "icb/" in frame or "billing_sync" in frame:
                within[frame] += n
    if not total:
        print("profile: no samples")
        return
    for title, table in (("threads", threads), ("own time", own), ("time within", within)):
        print(f"\nprofile, {title} (% of {total} samples):")
        for name, n in sorted(table.items(), key=lambda item: -item[1])[:top]:
            print(f"  {100 * n / total:5.1f}  {name}")


class Bench:
    def __init__(self, args, sandbox, broker: str):
        from django.conf import settings

        self.args, self.sandbox, self.broker = args, sandbox, broker
        settings.ICB_HUB_URL = os.environ["ICB_HUB_URL"] = sandbox.url
        settings.ICB_HUB_TIMEOUT = 120
        os.environ["ICB_HUB_TIMEOUT"] = "120"

    # --- data ----------------------------------------------------------------------------

    def build(self, accounts: int) -> None:
        from builders import (
            make_accounts_fast,
            make_company,
            make_contracts_fast,
            make_icb_services_fast,
            map_organizations_fast,
            store_organizations_fast,
        )
        from django.db import connection
        from django.utils import timezone

        from icb.contracts.models import Service
        from icb.hub import services as hub_services
        from icb.hub.crypto import encrypt
        from icb.hub.models import BillingType, HubConnection, Organization

        steps: dict[str, float] = {}
        started = last = time.perf_counter()

        def step(name: str) -> None:
            nonlocal last
            steps[name] = time.perf_counter() - last
            last = time.perf_counter()

        tokens = self.sandbox.obtain_tokens()
        company = self.company = make_company(time_zone="America/New_York")
        if self.args.policy != "default":
            from icb.billing_sync.models import ReviewPolicy

            ReviewPolicy.objects.create(company=company, mode=self.args.policy)
        HubConnection.objects.create(
            company=company,
            access_token_encrypted=encrypt(tokens["access_token"]),
            refresh_token_encrypted=encrypt(tokens["refresh_token"]),
            access_token_expires_at=timezone.now() + timedelta(hours=10),
        )
        now = timezone.now()
        with hub_services.hub_client(company) as api:
            infos = [m for m in api.modules() if m.code in MODULES]
            stored = hub_services._store_modules(company, infos, now)
            for code in MODULES:
                store_organizations_fast(
                    company,
                    stored[code],
                    (o for page in api.organization_pages(code) for o in page),
                    now,
                )
        step("organizations")
        account_ids = make_accounts_fast(company, accounts)
        contract_ids = make_contracts_fast(company, account_ids, now.date())
        step("accounts and contracts")
        mapped = 0
        for code in MODULES:
            org_ids = list(
                Organization.objects.filter(module=stored[code])
                .order_by("id")
                .values_list("id", flat=True)
            )
            mapped += len(org_ids)
            map_organizations_fast(
                company,
                stored[code],
                ((account_ids[i % len(account_ids)], org_id) for i, org_id in enumerate(org_ids)),
            )
        step("mappings")
        kinds = {
            code: BillingType.objects.get(module=stored[code], code=kind)
            for code, kind in MODULES.items()
        }
        self.due = now - timedelta(minutes=1)
        make_icb_services_fast(
            company, contract_ids, kinds, next_sync_at=self.due, start_date=now.date()
        )
        step("services")
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")  # what autovacuum would do after such a load
            step("vacuum")
        self.total = Service.objects.count()
        print(
            f"set-up: {self.total:,} ICB services, {mapped:,} mapped organizations "
            f"({time.perf_counter() - started:.1f} s: "
            + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in steps.items())
            + ")",
            flush=True,
        )

    # --- nights ---------------------------------------------------------------------------

    def night(self, label: str, worker=None, workers: int = 1) -> dict:
        """One night: dispatch (group tasks sized for `workers`), then the worker runs them,
        or this process does one after the other. Answers its figures."""
        from django.utils import timezone
        from processes import peak_rss_mb, reset_peak_rss, status_mb

        from icb.billing_sync.dispatch import dispatch_due
        from icb.billing_sync.groups import sync_group
        from icb.billing_sync.models import SyncRun
        from icb.billing_sync.tasks import enqueue

        self.sandbox.reset_request_counts()
        if worker:
            worker.reset_peak_rss()
        else:
            reset_peak_rss()
        rss_before = status_mb("VmRSS") or peak_rss_mb()
        cpu_before = self.cpu(worker)
        t0 = time.perf_counter()
        tasks = dispatch_due(timezone.now() + timedelta(seconds=1), workers=workers)
        t_dispatch = time.perf_counter() - t0
        if worker:
            enqueue(tasks)
            runs = SyncRun.objects.filter(pk__in={task.run_id for task in tasks})
            while runs.filter(finished_at__isnull=True).exists():
                worker.check_alive()
                time.sleep(0.05)
        else:
            for task in tasks:
                sync_group(task.run_id, task.batches)
        wall = time.perf_counter() - t0
        if worker:  # its last task ends, and its database connection with it
            time.sleep(1)
        cpu = {k: v - cpu_before[k] for k, v in self.cpu(worker).items()}
        requests = self.sandbox.request_counts().get("usage", 0)
        peak = worker.peak_rss_mb() if worker else peak_rss_mb()
        where = (
            f"worker peak RSS {peak:,.0f} MB per process"
            if worker
            else f"peak RSS {peak:,.0f} MB (RSS at start {rss_before:,.0f} MB)"
        )
        print(
            f"{label}: {self.total:,} services in {wall:.1f} s = {self.total / wall:,.0f} "
            f"services/s (dispatch {t_dispatch:.2f} s, {len(tasks)} group tasks, {requests} hub "
            f"usage requests); {where}",
            flush=True,
        )
        return {
            "wall": wall,
            "dispatch": t_dispatch,
            "peak": peak,
            "added": peak - rss_before,
            "cpu": cpu,
        }

    def cpu(self, worker=None) -> dict[str, float]:
        """CPU seconds so far: this process (the dispatcher, and in-process the sync), the
        sandbox hub, and the PostgreSQL server (its postmaster, backends and helpers)."""
        from processes import cpu_seconds

        times = os.times()
        found = {
            "bench": times.user + times.system,
            "hub": cpu_seconds(self.sandbox.process.pid),
        }
        if self.postmaster:
            found["database"] = cpu_seconds(self.postmaster)
        if worker:
            found["worker"] = worker.cpu_seconds()
        return found

    @property
    def postmaster(self) -> int | None:
        from django.db import connection

        if connection.vendor != "postgresql":
            return None
        from processes import parent_of

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            return parent_of(cursor.fetchone()[0])

    def settle(self, units: bool) -> None:
        """Make every service due again (with 0 units: every unit changes). Nights are a
        day apart: PostgreSQL's autovacuum has cleaned the row versions of the last
        night before the next one starts."""
        from django.db import connection

        from icb.contracts.models import Service

        fields = {"units": Decimal("0")} if units else {}
        Service.objects.update(next_sync_at=self.due, **fields)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "VACUUM ANALYZE contracts_service, "
                    "contracts_serviceunitchange, billing_sync_syncrunitem"
                )

    def start_worker(self, concurrency: int):
        from processes import Worker

        return Worker(
            concurrency,
            Path(os.environ["ICB_DATA_DIR"]) / f"bench-worker-{concurrency}.log",
            {"ICB_SYNC_WORKERS": str(concurrency)},
        )

    def measure(self) -> dict:
        from icb.celery import app
        from icb.contracts.models import Service, ServiceUnitChange

        if self.broker == "redis":
            app.control.purge()
        concurrency = self.args.concurrency
        label = f"Celery worker, --concurrency {concurrency}, {self.broker} broker"
        worker_all = worker_none = {"wall": 0.0, "dispatch": 0.0, "peak": 0.0}
        if not self.args.quick:
            worker = self.start_worker(concurrency)
            try:
                worker_all = self.night(f"nightly, {label}, all units change", worker, concurrency)
                changed = ServiceUnitChange.objects.filter(source="sync").count()
                ok = Service.objects.filter(icb_status="ok").count()
                print(f"  → {ok:,} services ok, {changed:,} history rows")
                self.settle(units=False)
                worker_none = self.night(f"nightly, {label}, nothing changes", worker, concurrency)
            finally:
                worker.stop()

        self.settle(units=True)
        with profiled(self.args.profile):
            inprocess_all = self.night("in-process, all units change")
        self.settle(units=False)
        inprocess_none = self.night("in-process, nothing changes")

        floor = self.floor()
        scaling = []
        for workers in [int(w) for w in self.args.workers.split(",") if w]:
            self.settle(units=True)
            worker = self.start_worker(workers)
            try:
                night = self.night(
                    f"scaling: {workers} worker process(es), all change", worker, workers
                )
            finally:
                worker.stop()
            scaling.append((workers, night))
        naive = self.naive() if not self.args.quick else float("nan")

        walls = {
            "worker_all": worker_all["wall"],
            "worker_none": worker_none["wall"],
            "inprocess_all": inprocess_all["wall"],
            "inprocess_none": inprocess_none["wall"],
        }
        print(f"summary: floor {floor:.1f} s, naive ≈ {naive:,.0f} s")
        for name, seconds in walls.items():
            if not seconds:  # --quick: not run
                continue
            print(
                f"  {name:<16} {seconds:5.1f} s = {seconds / floor:.2f}× the floor, "
                f"{naive / seconds:.0f}× faster than naive"
            )
        if scaling:
            self.print_scaling(scaling, floor)
        return {
            "services": self.total,
            **walls,
            "floor": floor,
            "naive": naive,
            "slowest": max(walls.values()),
            "dispatch": worker_all["dispatch"],
            "worker_rss": max(worker_all["peak"], worker_none["peak"]),
            "inprocess_rss_added": max(inprocess_all["added"], inprocess_none["added"]),
        }

    def print_scaling(self, scaling: list, floor: float) -> None:
        print(
            "\nworker processes, all units change (CPU seconds per night; this machine has "
            f"{os.cpu_count()} cores)"
        )
        print(
            "| workers | wall time | × floor | CPU: worker(s) | database | hub | dispatcher | "
            "CPU ÷ (cores × wall) |"
        )
        print("|---:|---:|---:|---:|---:|---:|---:|---:|")
        for workers, night in scaling:
            cpu = night["cpu"]
            busy = sum(cpu.values()) / ((os.cpu_count() or 1) * night["wall"])
            print(
                f"| {workers} | {night['wall']:.1f} s | {night['wall'] / floor:.2f} | "
                f"{cpu.get('worker', 0):.1f} | {cpu.get('database', 0):.1f} | "
                f"{cpu.get('hub', 0):.1f} | {cpu.get('bench', 0):.1f} | {busy:.0%} |"
            )

    # --- the floor and the naive sync -----------------------------------------------------

    def floor(self) -> float:
        """The same hub requests from one client, the sums, and one raw-SQL bulk update."""
        from django.db import connection, transaction

        from icb.billing_sync.dispatch import BATCH_SIZE
        from icb.contracts.models import Service
        from icb.hub import services as hub_services

        t0 = time.perf_counter()
        orgs_of = self.orgs_of = defaultdict(list)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT m.module_id, m.account_id, o.external_id FROM mapping_mapping m "
                "JOIN hub_organization o ON o.id = m.organization_id WHERE m.company_id = %s",
                [self.company.pk],
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
        self.sandbox.reset_request_counts()
        updates = []
        api = hub_services.hub_client(self.company)
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
            f"floor: {floor:.1f} s = {self.total / floor:,.0f} services/s (hub + compute "
            f"{t_hub:.1f} s, {self.sandbox.request_counts().get('usage', 0)} usage requests; "
            f"one bulk UPDATE {floor - t_hub:.1f} s)",
            flush=True,
        )
        return floor

    def naive(self) -> float:
        """One hub call and one save per service, on a sample, extrapolated."""
        from icb.contracts.models import Service, ServiceUnitChange
        from icb.hub import services as hub_services

        sample = list(
            Service.objects.select_related("contract", "icb_module", "icb_billing_type").order_by(
                "id"
            )[: self.args.naive_sample]
        )
        self.sandbox.reset_request_counts()
        t0 = time.perf_counter()
        with hub_services.hub_client(self.company) as api:
            for service in sample:
                ids = self.orgs_of[(service.icb_module_id, service.contract.account_id)]
                kind = service.icb_billing_type.code
                usage = api.usage(service.icb_module.code, ids, [kind])
                units = sum((usage.quantities[(o, kind)] for o in ids), Decimal(0))
                old, service.units = service.units, units
                service.save()
                ServiceUnitChange.objects.create(
                    company=self.company,
                    service=service,
                    old_units=old,
                    new_units=units,
                    source="sync",
                )
        naive = time.perf_counter() - t0
        per = naive / len(sample)
        print(
            f"naive: {len(sample):,} services in {naive:.1f} s ({per * 1000:.1f} ms each, "
            f"{self.sandbox.request_counts().get('usage', 0)} usage requests) → "
            f"{self.total:,} services ≈ {per * self.total:,.0f} s = {1 / per:,.0f} services/s",
            flush=True,
        )
        return per * self.total


if __name__ == "__main__":
    main()
