"""Benchmark: mapping suggestions, right and fast enough.

For each seed, a labelled universe from the sandbox hub's names (the demo's customers
and its generated ones): CRM accounts, and hub organizations that are spelling variants
of their names (case, legal suffixes, "&"/"and", punctuation, accents, abbreviations,
a domain, a typo, a word left out, a parenthesis), sites of them ("… – Boston Office",
some under a mapped parent), and distractors (customers the CRM does not have). Prints,
at the default confidence, the precision (suggestions that name the right account) and
the recall (organizations with an account that got the right suggestion); then the time
of the search for 100,000 organizations × 20,000 accounts (the matcher alone, and the
whole background task over the database with --database).

Targets: precision ≥ 95 %, recall ≥ 85 %, 100,000 × 20,000 under 60 s.

    python benchmarks/suggestions_bench.py [--seeds 1 2 3] [--accounts 20000]
        [--distractors 10000] [--organizations 100000] [--scale-accounts 20000]
        [--no-database]
"""

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src")]  # the product and the sandbox hub, not tests/

from icb.mapping.matching import DEFAULT_CONFIDENCE, MappedName, Matcher, normalize  # noqa: E402
from sandbox_hub.names import CITIES, SITE_KINDS, customer_pool, demo_customers  # noqa: E402

TARGET_PRECISION = 0.95
TARGET_RECALL = 0.85
TARGET_SECONDS = 60.0

SUFFIXES = ("", " Inc.", ", Inc.", " LLC", " L.L.C.", " Ltd", " Ltd.", " GmbH", " Co.", " Corp")
SHORT = {
    "Manufacturing": "Mfg",
    "Accounting": "Acctg",
    "Management": "Mgmt",
    "Street": "St.",
    "Associates": "Assoc.",
    "Services": "Svcs",
}
ACCENTS = {"e": "é", "a": "á", "o": "ö", "u": "ü", "i": "í"}


@dataclass
class Org:
    name: str
    truth: int | None  # the account it belongs to (None: a distractor)
    parent: tuple[int, str] | None = None  # its parent's account and name, if mapped


def strip_suffix(name: str) -> str:
    for suffix in sorted(SUFFIXES, key=len, reverse=True):
        if suffix and name.endswith(suffix):
            return name[: -len(suffix)]
    return name.rstrip(".")


def typo(rng: random.Random, name: str) -> str:
    words = name.split()
    long = [i for i, w in enumerate(words) if len(w) >= 6]
    if not long:
        return name
    i = rng.choice(long)
    word = words[i]
    at = rng.randrange(2, len(word) - 1)
    if rng.random() < 0.5:
        word = word[:at] + word[at + 1 :]  # a letter left out
    else:
        word = word[:at] + word[at + 1] + word[at] + word[at + 2 :]  # two letters swapped
    words[i] = word
    return " ".join(words)


def variant(rng: random.Random, name: str) -> str:
    """How another tool spells the CRM's `name`."""
    base = strip_suffix(name)
    roll = rng.random()
    if roll < 0.12:
        return name
    if roll < 0.22:
        return name.upper()
    if roll < 0.30:
        return name.lower()
    if roll < 0.45:
        return base + rng.choice(SUFFIXES)
    if roll < 0.52:
        swapped = base.replace(" & ", " and ") if " & " in base else base.replace(" and ", " & ")
        return swapped + rng.choice(SUFFIXES)
    if roll < 0.58:
        for long, short in SHORT.items():
            if long in base:
                return base.replace(long, short)
        return base.replace(" ", "  ") + "."
    if roll < 0.64:
        return "".join(c for c in base.lower() if c.isalnum()) + rng.choice((".com", ".net"))
    if roll < 0.74:
        return typo(rng, base)
    if roll < 0.80:
        letter = rng.choice([c for c in base if c in ACCENTS] or ["e"])
        return base.replace(letter, ACCENTS[letter], 1)
    if roll < 0.86:
        return f"{base} ({rng.choice(('Microsoft 365', 'Google Workspace', 'Main'))})"
    if roll < 0.93:
        words = base.split()
        return " ".join(words[:-1]) if len(words) > 2 else base  # a word left out
    return f"{base}, {rng.choice(('Inc', 'LLC'))}".upper()


def universe(seed: int, accounts: int, distractors: int):
    """(accounts as (id, name, code), mapped names, organizations with their truth)."""
    rng = random.Random(f"bench:{seed}")
    crm: list[tuple[int, str, str]] = []
    orgs: list[Org] = []
    keys: set[str] = set()
    for demo in demo_customers():
        crm.append((len(crm) + 1, demo.name, demo.name.split()[0].upper()))
        keys.add(normalize(demo.name).compact)
        for listed in demo.hub.values():
            orgs.append(Org(listed.name, len(crm)))
            orgs.extend(Org(site, len(crm)) for site in listed.sites)
    pool = customer_pool(seed, (accounts + distractors) * 2)
    rng.shuffle(pool)
    others: list[str] = []
    for customer in pool:
        key = normalize(customer.name).compact
        if key in keys:
            continue  # the CRM holds no two accounts of one name
        keys.add(key)
        if len(crm) < accounts:
            crm.append((len(crm) + 1, customer.name, f"C{len(crm) + 1:05d}"))
        elif len(others) < distractors:
            others.append(customer.name)
    mapped: list[MappedName] = []
    for account_id, name, _code in crm[len(demo_customers()) :]:
        if rng.random() < 0.15:
            continue  # not in this hub
        spelt = variant(rng, name)
        if rng.random() < 0.2:  # the customer has sites
            parent_mapped = rng.random() < 0.5
            if parent_mapped:
                mapped.append(MappedName(spelt, account_id, "RMM"))
            else:
                orgs.append(Org(spelt, account_id))
            for _ in range(rng.randint(1, 3)):
                site = f"{spelt} \u2013 {rng.choice(CITIES)} {rng.choice(SITE_KINDS)}"
                parent = (account_id, spelt) if parent_mapped else None
                orgs.append(Org(site, account_id, parent))
        else:
            orgs.append(Org(spelt, account_id))
    orgs.extend(Org(variant(rng, name), None) for name in others)
    return crm, mapped, orgs


def score(seed: int, accounts: int, distractors: int, threshold: float) -> tuple[int, int, int]:
    crm, mapped, orgs = universe(seed, accounts, distractors)
    matcher = Matcher(crm, mapped)
    suggested = right = 0
    for org in orgs:
        found = matcher.match(org.name, parent=org.parent, module_name="Backup")
        if found is None or found.confidence < threshold:
            continue
        suggested += 1
        right += found.account_id == org.truth
    return suggested, right, sum(1 for o in orgs if o.truth is not None)


def time_matcher(organizations: int, accounts: int) -> tuple[float, float, int]:
    crm, mapped, orgs = universe(99, accounts, organizations)
    names = [o.name for o in orgs]
    names = (names * (organizations // len(names) + 1))[:organizations]
    start = time.perf_counter()
    matcher = Matcher(crm, mapped)
    indexed = time.perf_counter() - start
    found = sum(1 for name in names if matcher.match(name) is not None)
    return indexed, time.perf_counter() - start, found


def time_database(organizations: int, accounts: int) -> None:
    """The whole background search (read, match, store) over a fresh database."""
    os.environ.setdefault("ICB_DATA_DIR", tempfile.mkdtemp(prefix="icb-bench-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "icb.settings")
    import django

    django.setup()
    from builders import make_company
    from django.core.management import call_command
    from django.db import connection

    from icb.crm.models import Account
    from icb.hub.models import Module, Organization
    from icb.mapping import suggestions

    call_command("migrate", verbosity=0)
    crm, _mapped, orgs = universe(99, accounts, organizations)
    company = make_company()
    Account.objects.bulk_create(
        [Account(company=company, name=name, code=code) for _id, name, code in crm],
        batch_size=2000,
    )
    module = Module.objects.create(company=company, code="rmm", name="RMM")
    names = [o.name for o in orgs]
    Organization.objects.bulk_create(
        [
            Organization(
                company=company, module=module, external_id=str(i), name=names[i % len(names)]
            )
            for i in range(organizations)
        ],
        batch_size=5000,
    )
    start = time.perf_counter()
    stored = suggestions.find_suggestions(company=company)
    took = time.perf_counter() - start
    print(
        f"database ({connection.vendor}): {organizations:,} organizations × {len(crm):,} "
        f"accounts: {took:.1f} s, {stored:,} suggestions stored "
        f"(target < {TARGET_SECONDS:.0f} s) {'OK' if took < TARGET_SECONDS else 'MISSED'}"
    )
    time_reads(company, module, organizations)


def time_reads(company, module, organizations: int) -> None:
    """The menu's count (every page) and the page's totals and first pages, with every
    organization holding unmapped usage in two billing types."""
    from icb.hub.models import BillingType, Organization
    from icb.mapping import unmapped_selectors
    from icb.mapping.models import UnmappedUsage

    types = [
        BillingType.objects.create(module=module, code=code, name=code)
        for code in ("workstations", "servers")
    ]
    ids = Organization.objects.filter(module=module).values_list("pk", flat=True)
    UnmappedUsage.objects.bulk_create(
        [
            UnmappedUsage(
                company=company, module=module, organization_id=pk, billing_type=bt, quantity=3
            )
            for pk in ids
            for bt in types
        ],
        batch_size=5000,
    )
    counts = []
    for _ in range(5):
        start = time.perf_counter()
        unmapped_selectors.unmapped_count(company=company)
        counts.append((time.perf_counter() - start) * 1000)
    pages = []
    for number in (1, 2, 3, 4, 5):
        start = time.perf_counter()
        unmapped_selectors.unmapped_summary(company=company)
        unmapped_selectors.unmapped_page(company=company, page=number)
        pages.append((time.perf_counter() - start) * 1000)
    count = unmapped_selectors.unmapped_summary(company=company).count
    print(
        f"reads at {count:,} organizations with unmapped usage: the menu's count "
        f"{statistics.median(counts):.0f} ms, the page's totals and list of 50 "
        f"{statistics.median(pages):.0f} ms (medians of 5)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--distractors", type=int, default=10_000)
    parser.add_argument("--threshold", type=float, default=float(DEFAULT_CONFIDENCE))
    parser.add_argument("--organizations", type=int, default=100_000)
    parser.add_argument("--scale-accounts", type=int, default=20_000)
    parser.add_argument("--no-database", dest="database", action="store_false")
    args = parser.parse_args()

    print(f"default confidence {args.threshold:.2f}")
    totals = [0, 0, 0]
    for seed in args.seeds:
        suggested, right, matchable = score(seed, args.accounts, args.distractors, args.threshold)
        totals = [totals[0] + suggested, totals[1] + right, totals[2] + matchable]
        print(
            f"seed {seed}: {matchable:,} organizations with an account, {suggested:,} "
            f"suggested, {right:,} right: precision {right / max(suggested, 1):.1%}, "
            f"recall {right / max(matchable, 1):.1%}"
        )
    precision = totals[1] / max(totals[0], 1)
    recall = totals[1] / max(totals[2], 1)
    print(
        f"all seeds: precision {precision:.1%} (target ≥ {TARGET_PRECISION:.0%}) "
        f"{'OK' if precision >= TARGET_PRECISION else 'MISSED'}, recall {recall:.1%} "
        f"(target ≥ {TARGET_RECALL:.0%}) {'OK' if recall >= TARGET_RECALL else 'MISSED'}"
    )
    indexed, took, found = time_matcher(args.organizations, args.scale_accounts)
    print(
        f"matcher: {args.organizations:,} organizations × {args.scale_accounts:,} accounts: "
        f"{took:.1f} s (index {indexed:.1f} s), {found:,} with a suggestion "
        f"(target < {TARGET_SECONDS:.0f} s) {'OK' if took < TARGET_SECONDS else 'MISSED'}"
    )
    if args.database:
        time_database(args.organizations, args.scale_accounts)


if __name__ == "__main__":
    main()
