"""Realistic demo data for a new company: the accounts, contracts and services an MSP has,
and, once the company has read the sandbox hub's directory, a few mappings.

The demo's customers are the sandbox hub's: both read one list, `demo_customers.json` in
the sandbox package (the sandbox lists each customer under the names its tools give it,
the demo makes an account of each). The product does not import the sandbox: this module
reads the file beside it, only to make demo data, and does nothing without it.

Demo mappings cannot be made when the demo data is (`icb run` makes it before anyone has
connected the hub, and a mapping needs the hub's organizations), so they are made when
the demo company reads the sandbox's directory for the first time (the hub page calls
`map_demo_organizations` after connecting, and `icb demo_data` when already connected):
the customers whose `mapped` lists a module get the organizations the sandbox lists for
them there, through the mapping service, as an administrator would. The others are left
unmapped on purpose, for the newcomer to map."""

from __future__ import annotations

import datetime
import functools
import importlib.util
import json
from decimal import Decimal
from pathlib import Path

from django.db import transaction

from icb.common.errors import ServiceError
from icb.contracts.services import contract_create, service_create
from icb.crm.models import Account
from icb.crm.services import account_create
from icb.hub.models import Organization
from icb.mapping.models import MappingChange
from icb.mapping.services import CellChange, apply_changes
from icb.tenancy.models import Company, User

CUSTOMERS_FILE = "demo_customers.json"

# (name, unit price, units per employee, at least): units follow the customer's size, so
# that turning a service over to the hub changes them a little, not from nothing.
DEMO_SERVICES = [
    ("Managed Workstations", "45.00", "0.8", 1),
    ("Managed Servers", "120.00", "0.06", 1),
    ("Backup & Disaster Recovery", "35.00", "0.08", 1),
    ("Security Awareness Training", "3.50", "0.9", 1),
]


class DemoUnavailable(Exception):
    """The demo's customer list is not installed (the sandbox hub package is missing)."""


def customers_file() -> Path | None:
    """The sandbox package's list of demo customers, found without importing the package."""
    spec = importlib.util.find_spec("sandbox_hub")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / CUSTOMERS_FILE
        if path.is_file():
            return path
    return None


@functools.cache
def demo_customers() -> tuple[dict, ...]:
    """The demo's customers: name, code, city, region, employees, active, hub (how each
    module of the sandbox lists them) and mapped (the modules the demo maps)."""
    path = customers_file()
    if path is None:
        raise DemoUnavailable(f"{CUSTOMERS_FILE} of the sandbox hub package was not found")
    return tuple(json.loads(path.read_text(encoding="utf-8"))["customers"])


@transaction.atomic
def create_demo_data(*, company: Company, actor: User) -> bool:
    """The demo's accounts, each with a contract and most of the demo services. Idempotent:
    a company that already has accounts is left alone (returns False)."""
    if Account.objects.for_company(company).exists():
        return False
    for index, customer in enumerate(demo_customers()):
        name, code = customer["name"], customer["code"]
        account = account_create(
            company=company,
            actor=actor,
            name=name,
            code=code,
            city=customer["city"],
            region=customer["region"],
            country="United States",
            is_active=customer["active"],
            email=f"billing@{code.lower()}.example",
        )
        contract = contract_create(
            company=company,
            actor=actor,
            account_id=account.id,
            name=f"{name} — Managed Services",
            start_date=datetime.date(2026, 1, 1),
            billing_frequency="monthly",
            currency=company.currency,
        )
        employees = Decimal(customer["employees"])
        for service_index, (service_name, price, per_employee, least) in enumerate(DEMO_SERVICES):
            if (index + service_index) % 4 == 3:
                continue  # not every customer buys every service
            service_create(
                contract=contract,
                actor=actor,
                name=service_name,
                unit_price=Decimal(price),
                units=max(Decimal(least), (employees * Decimal(per_employee)).quantize(1)),
            )
    return True


def map_demo_organizations(*, company: Company, user: User | None) -> int:
    """Map the demo accounts to the sandbox's organizations the demo lists for them; the
    number of organizations mapped.

    Only for the demo: every demo account must be there under its demo name, the
    company's mappings never changed (so a mapping the user removed is never made again,
    and nothing happens on a later refresh), and the directory must hold the customer's
    organization under the exact name the sandbox gives it, once (its sites too, those
    still there). Another company, or one connected to another hub, gets nothing. Never
    raises: connecting must not fail because of the demo.
    """
    if MappingChange.objects.for_company(company).exists():
        return 0
    try:
        customers = demo_customers()
    except (DemoUnavailable, OSError, ValueError, KeyError):
        return 0
    accounts = {
        a.code: a
        for a in Account.objects.for_company(company).filter(
            code__in=[c["code"] for c in customers]
        )
    }
    if any(
        accounts.get(c["code"]) is None or accounts[c["code"]].name != c["name"] for c in customers
    ):
        return 0
    changes = []
    for customer in customers:
        for module in customer["mapped"]:
            listed = customer["hub"][module]
            names = [listed["name"], *listed.get("sites", [])]
            found = list(
                Organization.objects.for_company(company).filter(
                    module__code=module,
                    module__removed_at__isnull=True,
                    removed_at__isnull=True,
                    name__in=names,
                )
            )
            counted = [o.name for o in found]
            if counted.count(listed["name"]) != 1 or len(set(counted)) != len(counted):
                continue  # not the sandbox's directory (or not read yet)
            changes.append(
                CellChange(
                    account_id=accounts[customer["code"]].pk,
                    module=module,
                    add=[o.external_id for o in found],
                )
            )
    if not changes:
        return 0
    try:
        apply_changes(company=company, user=user, changes=changes)
    except ServiceError:
        return 0
    return sum(len(change.add) for change in changes)
