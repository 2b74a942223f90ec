"""Benchmark: every page and every list API route at MSP scale.

Builds a company with 20,000 accounts (one contract each), 3 modules with 50,000
organizations each (150,000, every one mapped, its mapping's change recorded), one ICB
service per account and module (60,000) and a year of nightly sync history (a run a
night, 1 in 30 services changing units each night with its history row, a few
failures, a webhook delivery), with bulk inserts, on the database of DATABASE_URL (a
fresh SQLite file by default; give an empty PostgreSQL database to measure PostgreSQL).

Then it walks every page URL and every GET route of the API, as the route tests do,
fills their ids from the data, and requests each as a logged-in administrator through
Django's test client (in-process: the whole middleware stack and the database, no HTTP
server, no network, no gzip; a browser would add those): the page as it opens, and
for lists their last page, a search or a filter. Each is requested once to warm up,
then --runs times (fewer if that takes more than --budget seconds, at least 3), and a
row prints the median and 95th percentile (nearest rank: of 20 requests the
second-slowest) in milliseconds and the size of the answer, beside the targets: p95 <
150 ms and < 200 KB. Rows that miss one are marked. Figures only: nothing here fails
on a timing.

    python benchmarks/pages_bench.py [--accounts 20000] [--organizations 50000]
                                     [--days 365] [--runs 20] [--budget 5]
                                     [--only REGEX]
"""

import argparse
import json
import logging
import math
import os
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src")]  # the product, not tests/

MODULES = {
    "rmm": ("RMM", "workstations"),
    "backup": ("Backup", "protected_devices"),
    "docs": ("Documentation", "users"),
}
TARGET_MS = 150
TARGET_KB = 200
LAST = 1_000_000  # a page number past the end: every list answers its last page

# Besides each route as it opens: (label, query) variants. "{name}" is filled from the
# data (see `ids` below).
PAGE_VARIANTS = {
    "crm:list": [("last page", {"page": LAST}), ("name search", {"name": "{name}"})],
    "contracts:list": [("last page", {"page": LAST}), ("search", {"q": "{name}"})],
    "contracts:create": [("for an account", {"account": "{account_id}"})],
    "contracts:service_detail": [("history, last page", {"page": LAST})],
    "billing_sync:runs": [("last page", {"page": LAST})],
    "billing_sync:run_detail": [("last page", {"page": LAST}), ("failed", {"status": "error"})],
    "mapping:page": [("last page", {"page": LAST}), ("name search", {"name": "{name}"})],
}
# Pages not timed as a logged-in user, and why.
PAGE_SKIPPED = {"hub:callback": "the hub's OAuth redirect target, not a page"}
ANONYMOUS_PAGES = {"login"}  # a signed-in user is sent on; timed signed out

API_QUERY = {"/mappings/organizations": {"module": "rmm"}}  # needed on every request
API_VARIANTS = {
    "/accounts": [("last page", {"page": LAST}), ("name search", {"name": "{name}"})],
    "/contracts": [("last page", {"page": LAST}), ("search", {"q": "{name}"})],
    "/contracts/account-options": [("last page", {"page": LAST}), ("search", {"q": "{name}"})],
    "/services/{service_id}/history": [("last page", {"page": LAST})],
    "/sync-runs": [("last page", {"page": LAST})],
    "/sync-runs/{run_id}/services": [
        ("last page", {"page": LAST}),
        ("failed", {"status": "error"}),
    ],
    "/mappings": [("last page", {"page": LAST}), ("name search", {"name": "{name}"})],
    "/mapping-changes": [
        ("last page", {"page": LAST}),
        ("an account", {"account_id": "{account_id}"}),
    ],
    "/mappings/organizations": [
        ("common name", {"search": "Org 00"}),
        ("rare name", {"search": "{org_name}"}),
        ("id", {"search": "{org_id}"}),
    ],
    "/modules/{code}/organizations": [
        ("rare name", {"search": "{org_name}"}),
        ("id", {"search": "{org_id}"}),
    ],
}


def percentile(times: list[float], p: float) -> float:
    ordered = sorted(times)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def build(args):
    """The company and its year; returns (administrator, ids to fill routes with)."""
    from builders import (
        make_accounts,
        make_admin,
        make_company,
        make_contracts,
        make_icb_services,
        make_modules,
        make_organizations,
        map_organizations,
    )
    from django.db import connection
    from django.utils import timezone

    from icb.billing_sync.bulk import insert_rows
    from icb.billing_sync.models import HeldChange, SyncPreview, SyncRun, SyncRunItem
    from icb.billing_sync.write import HISTORY_FIELDS, ITEM_FIELDS
    from icb.contracts.models import Service, ServiceUnitChange
    from icb.hub.crypto import encrypt
    from icb.hub.models import HubConnection, Organization
    from icb.mapping.models import MappingChange
    from icb.mapping.unmapped import refresh_figures
    from icb.notify.models import DeliveryAttempt, WebhookDelivery, WebhookEndpoint
    from icb.tenancy.models import Role, User

    started = time.perf_counter()
    now = timezone.now()
    adapt = connection.ops.adapt_datetimefield_value
    company = make_company(time_zone="America/New_York")
    admin = make_admin(company)
    member = User.objects.create_user(
        "finance@bench.test",
        "Bench-Password-1",
        company=company,
        role=Role.objects.get(company=company, name="Finance"),
    )
    HubConnection.objects.create(
        company=company,
        access_token_encrypted=encrypt("bench"),
        refresh_token_encrypted=encrypt("bench"),
        access_token_expires_at=now + timedelta(hours=1),
        last_refresh_at=now,
    )
    accounts = make_accounts(company, args.accounts)
    contracts = make_contracts(company, accounts, (now - timedelta(days=args.days + 30)).date())
    kinds = make_modules(company, MODULES)
    n_accounts = len(accounts)
    mapped_at = adapt(now - timedelta(days=args.days + 1))
    for code, kind in kinds.items():
        module = kind.module
        make_organizations(company, module, args.organizations)
        org_ids = list(
            Organization.objects.filter(module=module).order_by("id").values_list("id", flat=True)
        )
        # Organization i (in creation order) is mapped to account i mod the accounts.
        map_organizations(
            company, module, ((accounts[i % n_accounts].pk, o) for i, o in enumerate(org_ids))
        )
        insert_rows(
            MappingChange,
            [
                "company",
                "account",
                "module_code",
                "organization_external_id",
                "organization_name",
                "action",
                "user",
                "changed_at",
            ],
            [
                (
                    company.pk,
                    accounts[i % n_accounts].pk,
                    code,
                    f"{code}-{i}",
                    f"Org {i:06d} {module.name}",
                    "added",
                    admin.pk,
                    mapped_at,
                )
                for i in range(len(org_ids))
            ],
        )
    last_night = now.replace(hour=5, minute=0, second=0, microsecond=0)
    if last_night > now:
        last_night -= timedelta(days=1)
    make_icb_services(
        company,
        contracts,
        kinds,
        units=Decimal("3"),
        icb_status="ok",
        last_sync_at=last_night,
        next_sync_at=last_night + timedelta(days=1),
    )
    services = list(
        Service.objects.filter(company=company)
        .order_by("id")
        .values_list("id", "contract__account_id", "icb_module__code")
    )
    account_index = {a.pk: i for i, a in enumerate(accounts)}

    # A year of nights: each night changes the units of the next 1/30 of the services
    # (every service changes about monthly), and a few fail.
    n = len(services)
    per_night = max(1, n // 30)
    failures = max(1, per_night // 100)
    batches = math.ceil(n / 2000)
    runs = SyncRun.objects.bulk_create(
        [
            SyncRun(
                company=company,
                trigger="nightly",
                started_at=last_night - timedelta(days=args.days - 1 - d),
                finished_at=last_night - timedelta(days=args.days - 1 - d) + timedelta(seconds=8),
                batches_total=batches,
                batches_done=batches,
                services_changed=per_night,
                services_failed=failures,
                services_unchanged=n - per_night - failures,
            )
            for d in range(args.days)
        ]
    )
    history = 0
    for d, run in enumerate(runs):
        at = adapt(run.started_at + timedelta(seconds=4))
        measured = run.started_at.isoformat()
        rows = []
        for j in range(per_night):
            service_id, account_id, code = services[(d * per_night + j) % n]
            a = account_index[account_id]
            orgs = [f"{code}-{i}" for i in range(a, args.organizations, n_accounts)]
            quantities = {o: str(d % 5 + 1) for o in orgs}
            new = (d % 5 + 1) * len(orgs)
            rows.append(
                (
                    company.pk,
                    service_id,
                    str(Decimal(new + 1)),
                    str(Decimal(new)),
                    at,
                    "sync",
                    None,
                    run.pk,
                    json.dumps(
                        {
                            "module": code,
                            "billing_type": MODULES[code][1],
                            "quantities": quantities,
                            "measured_at": dict.fromkeys(orgs, measured),
                        }
                    ),
                    str(run.started_at.date()),
                )
            )
        insert_rows(ServiceUnitChange, HISTORY_FIELDS, rows)
        history += len(rows)
        insert_rows(
            SyncRunItem,
            ITEM_FIELDS,
            [
                (
                    run.pk,
                    company.pk,
                    services[(d * 97 + k * 7919) % n][0],
                    "error",
                    None,
                    None,
                    "The hub did not answer (HTTP 504); retried in 15 minutes.",
                )
                for k in range(failures)
            ],
        )
    # A change the last night held for review (its page and API; the review's own lists
    # are measured by its authors).
    held = HeldChange.objects.create(
        company=company,
        service_id=services[0][0],
        current_units=Decimal("3"),
        proposed_units=Decimal("0"),
        rule="drop_to_zero",
        sync_run_id=runs[-1].pk,
    )
    # A webhook that took each night's run: its page lists the latest deliveries.
    webhook = WebhookEndpoint.objects.create(
        company=company,
        url="https://hooks.bench.test/icb",
        event_types=["sync_run.finished"],
        secret_encrypted=encrypt("whsec_bench"),
        created_by=admin,
    )
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(
            company=company,
            endpoint=webhook,
            message_id=f"msg_{run.pk}",
            event_type="sync_run.finished",
            body=json.dumps({"type": "sync_run.finished", "data": {"run_id": run.pk}}),
            status="delivered",
            attempts=1,
            created_at=run.finished_at,
            finished_at=run.finished_at,
        )
        for run in runs
    )
    DeliveryAttempt.objects.bulk_create(
        DeliveryAttempt(
            company=company,
            delivery=delivery,
            number=1,
            attempted_at=delivery.created_at,
            status_code=200,
            duration_ms=80,
        )
        for delivery in deliveries
    )
    # What a read of the unmapped usage stores beside its snapshot: the usual prices and
    # the incomplete mappings (the unmapped usage page reads them, never the services).
    refresh_figures(company=company)
    # A company-wide sync preview as it runs (its page and route need an id; a finished
    # one's rows are not built here).
    preview = SyncPreview.objects.create(company=company, services_total=n, services_done=n // 4)
    with connection.cursor() as cursor:
        # What autovacuum does after a bulk load (PostgreSQL 13 and later vacuums a table
        # after many inserts too, which lets index-only scans skip the table); on SQLite
        # what a later ANALYZE does.
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    print(
        f"data: {n_accounts:,} accounts, {n:,} ICB services, "
        f"{args.organizations * len(MODULES):,} mapped organizations, {len(runs)} nightly runs, "
        f"{history:,} history rows (built in {time.perf_counter() - started:.0f} s)"
    )

    account = accounts[n_accounts // 2]
    service_id = next(s for s, a, _code in services if a == account.pk)
    rare = args.organizations * 3 // 4 + 7
    return admin, {
        "account_id": account.pk,
        "contract_id": contracts[n_accounts // 2].pk,
        "service_id": service_id,
        "run_id": runs[-1].pk,
        "role_id": member.role_id,
        "user_id": member.pk,
        "webhook_id": webhook.pk,
        "held_id": held.pk,
        "preview_id": preview.pk,
        "code": "rmm",
        # a name search matching a handful of accounts: "Customer 0123" → 01230–01239
        "name": account.name[:-1],
        "org_name": f"Org {rare:06d}",
        "org_id": f"rmm-{rare}",
    }


def quietly(get, url):
    """A request whose 405 is expected: not logged as a warning."""
    log = logging.getLogger("django.request")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        return get(url)
    finally:
        log.setLevel(level)


def fill(template: str, ids: dict) -> str:
    for key, value in ids.items():
        template = template.replace("{" + key + "}", str(value))
    return template


def page_routes(ids):
    """(URL name, label, url, query) for every page URL and its variants, in URL order."""
    from django.urls import URLResolver, get_resolver, reverse

    def patterns(resolver, namespace="", prefix=""):
        for pattern in resolver.url_patterns:
            if isinstance(pattern, URLResolver):
                if pattern.namespace == "api":
                    continue
                inner = ":".join(n for n in (namespace, pattern.namespace or "") if n)
                yield from patterns(pattern, inner, prefix + str(pattern.pattern))
            else:
                name = f"{namespace}:{pattern.name}" if namespace else pattern.name
                yield name, prefix + str(pattern.pattern), pattern.pattern.converters

    for name, route, converters in patterns(get_resolver()):
        if name in PAGE_SKIPPED:
            continue
        url = reverse(name, kwargs={p: ids[p] for p in converters})
        shown = "/" + re.sub(r"<\w+:", "<", route)
        yield name, shown, url, {}
        for label, query in PAGE_VARIANTS.get(name, []):
            yield name, f"{shown} ({label})", url, query


def api_routes():
    """(path, label, query) for every GET route of the API, with its variants."""
    from icb.api import api

    paths = sorted(
        {
            path
            for _prefix, router in api._routers
            for path, path_view in router.path_operations.items()
            for operation in path_view.operations
            if "GET" in operation.methods
        }
    )
    for path in paths:
        base = API_QUERY.get(path, {})
        yield path, path, base
        for label, query in API_VARIANTS.get(path, []):
            yield path, f"{path} ({label})", {**base, **query}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument(
        "--organizations",
        type=int,
        help="organizations per module, all mapped (default: 2.5 per account)",
    )
    parser.add_argument("--days", type=int, default=365, help="nights of sync history")
    parser.add_argument("--runs", type=int, default=20, help="timed requests per row")
    parser.add_argument(
        "--budget", type=float, default=5.0, help="seconds per row before fewer requests"
    )
    parser.add_argument(
        "--only",
        metavar="REGEX",
        help="time only the rows whose label matches (to measure a row again)",
    )
    args = parser.parse_args()
    if args.organizations is None:
        args.organizations = args.accounts * 5 // 2

    os.environ.setdefault("ICB_DATA_DIR", tempfile.mkdtemp(prefix="icb-bench-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "icb.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    call_command("migrate", verbosity=0)
    print(
        f"database: {connection.vendor}; load average {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} cores at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )
    admin, ids = build(args)
    client = Client()
    client.force_login(admin)
    anonymous = Client()

    rows, not_timed = [], []

    def measure(label, url, query, who):
        if args.only and not re.search(args.only, label):
            return
        full = url + (
            "?" + urlencode({k: fill(str(v), ids) for k, v in query.items()}) if query else ""
        )
        response = who.get(full)  # warm-up (and the status)
        times = []
        begun = time.perf_counter()
        for _ in range(args.runs):
            t0 = time.perf_counter()
            response = who.get(full)
            times.append((time.perf_counter() - t0) * 1000)
            if len(times) >= 3 and time.perf_counter() - begun > args.budget:
                break
        rows.append((label, times, len(response.content), response.status_code))

    print(f"\npages ({args.runs} requests each after a warm-up; p95 of 20 = the 2nd slowest):")
    for name, label, url, query in page_routes(ids):
        anon = name in ANONYMOUS_PAGES
        if not query and quietly(client.get, url).status_code == 405:
            not_timed.append(f"{label}: POST only")
            continue
        if anon:
            label += " (signed out)"
        measure(label, url, query, anonymous if anon else client)
    page_rows = len(rows)
    for path, label, query in api_routes():
        measure("/api/v1" + label, "/api/v1" + fill(path, ids), query, client)

    misses = 0
    header = f"| {'route':<78} | p50 ms | p95 ms |    KB | n  | status | target |"
    for i, (label, times, size, status) in enumerate(rows):
        if i in (0, page_rows) and (i == 0 or page_rows):
            print(("\nPages\n" if i < page_rows else "\nAPI (GET)\n") + header)
            print(f"|{'-' * 80}|-------:|-------:|------:|---:|-------:|--------|")
        p50, p95 = statistics.median(times), percentile(times, 95)
        missed = [f"p95 > {TARGET_MS} ms"] * (p95 >= TARGET_MS) + [f"> {TARGET_KB} KB"] * (
            size >= TARGET_KB * 1024
        )
        if status != 200:
            missed.append(f"HTTP {status}")
        misses += bool(missed)
        mark = "✗ " + ", ".join(missed) if missed else "ok"
        print(
            f"| {label:<78} | {p50:6.1f} | {p95:6.1f} | {size / 1024:5.1f} | {len(times):<2} "
            f"| {status:>6} | {mark} |"
        )
    print(f"\n{misses} of {len(rows)} rows miss a target (p95 < {TARGET_MS} ms, < {TARGET_KB} KB).")
    for line in (not_timed if not args.only else []) + [
        f"{k}: {v}" for k, v in PAGE_SKIPPED.items()
    ]:
        print(f"not timed: {line}")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
