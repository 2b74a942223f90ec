"""Benchmark: reading a hub's organization directory into the database.

Starts the sandbox hub with N organizations per module (default 100,000), connects a
company to it, and times the directory refresh of one module (fetch all pages over
HTTP + bulk upsert), then a second refresh (everything already stored), then the
same with 1% of the organizations gone (marked removed). Prints the figures.

    python benchmarks/directory_bench.py [--organizations 100000] [--module rmm]
"""

import argparse
import os
import resource
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src")]  # the product and the sandbox hub, not tests/


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--organizations", type=int, default=100_000)
    parser.add_argument("--module", default="rmm")
    args = parser.parse_args()

    os.environ.setdefault("ICB_DATA_DIR", tempfile.mkdtemp(prefix="icb-bench-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "icb.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.utils import timezone

    from icb.hub import services
    from icb.hub.crypto import encrypt
    from icb.hub.models import HubConnection, Module, Organization
    from icb.tenancy.models import Company
    from sandbox_hub.runner import start_sandbox

    call_command("migrate", verbosity=0)
    print(f"database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}")
    with start_sandbox(organizations=args.organizations) as sandbox:
        settings.ICB_HUB_URL = sandbox.url
        tokens = sandbox.obtain_tokens()
        company, _ = Company.objects.get_or_create(name="Bench MSP")
        HubConnection.objects.update_or_create(
            company=company,
            defaults=dict(
                access_token_encrypted=encrypt(tokens["access_token"]),
                refresh_token_encrypted=encrypt(tokens["refresh_token"]),
                access_token_expires_at=timezone.now() + timedelta(hours=1),
            ),
        )

        def refresh_one_module() -> tuple[float, float, dict]:
            started = time.perf_counter()
            with services.hub_client(company) as api:
                modules = {m.code: m for m in api.modules()}
                orgs = [o for page in api.organization_pages(args.module) for o in page]
            fetched = time.perf_counter()
            now = timezone.now()
            stored = services._store_modules(company, [modules[args.module]], now)
            counts = services._store_organizations(company, stored[args.module], orgs, now)
            return fetched - started, time.perf_counter() - fetched, counts

        for label in ("first refresh (all new)", "second refresh (unchanged)"):
            fetch, store, counts = refresh_one_module()
            print(
                f"{label}: {counts['organizations']:,} organizations — fetch {fetch:.2f} s, "
                f"store {store:.2f} s, total {fetch + store:.2f} s"
            )
        module = Module.objects.get(company=company, code=args.module)
        gone = list(
            Organization.objects.filter(module=module, parent_external_id="").values_list(
                "external_id", flat=True
            )[: args.organizations // 100]
        )
        removable = [
            g
            for g in gone
            if not Organization.objects.filter(module=module, parent_external_id=g).exists()
        ]
        for external_id in removable:
            sandbox.remove_organization(args.module, external_id)
        fetch, store, counts = refresh_one_module()
        print(
            f"third refresh ({len(removable)} removed at the hub): fetch {fetch:.2f} s, "
            f"store {store:.2f} s, marked removed {counts['removed']}"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak:.0f} MB")


if __name__ == "__main__":
    main()
