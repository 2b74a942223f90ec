"""Data builders the benchmarks share: an MSP at scale, written with bulk inserts (a
company, its accounts, contracts, modules, organizations, mappings and ICB services).
Import after django.setup(). Not a benchmark itself (run_all.py runs *_bench.py only).
"""

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from itertools import islice
from typing import Any

from django.db import connection
from django.db.models import Model
from django.utils import timezone

from icb.billing_sync.bulk import insert_rows
from icb.contracts.models import Contract, Service
from icb.crm.models import Account
from icb.hub.models import BillingType, Module, Organization
from icb.mapping.models import Mapping
from icb.tenancy.models import Company, Role, User
from icb.tenancy.services import ensure_built_in_roles

ADMIN_EMAIL = "bench@bench.test"
ADMIN_PASSWORD = "Bench-Password-1"


def make_company(name: str = "Bench MSP", **fields) -> Company:
    """A company with its built-in roles."""
    company = Company.objects.create(name=name, **fields)
    ensure_built_in_roles(company)
    return company


def make_admin(company: Company, email: str = ADMIN_EMAIL) -> User:
    return User.objects.create_user(
        email,
        ADMIN_PASSWORD,
        company=company,
        role=Role.objects.get(company=company, name="Administrator"),
    )


def make_accounts(
    company: Company, count: int, name: str = "Customer {i:05d}", inactive_every: int = 0
) -> list[Account]:
    """`count` accounts named by the format `name` (with `i`), codes C00000, C00001…; every
    `inactive_every`-th one inactive (0: none)."""
    return Account.objects.bulk_create(
        [
            Account(
                company=company,
                name=name.format(i=i),
                code=f"C{i:05d}",
                is_active=not (inactive_every and i % inactive_every == 0),
            )
            for i in range(count)
        ],
        batch_size=2000,
    )


def make_contracts(company: Company, accounts: list[Account], start: date) -> list[Contract]:
    """One contract per account, in the accounts' order."""
    return Contract.objects.bulk_create(
        [
            Contract(
                company=company,
                account=account,
                name="Managed Services",
                start_date=start,
                currency="USD",
            )
            for account in accounts
        ],
        batch_size=2000,
    )


def make_modules(company: Company, modules: dict[str, tuple[str, str]]) -> dict[str, BillingType]:
    """Modules without a hub: {code: (name, billing type code)} → {code: its billing type}
    (the billing type's module is the module)."""
    kinds = {}
    for code, (name, kind) in modules.items():
        module = Module.objects.create(company=company, code=code, name=name)
        kinds[code] = BillingType.objects.create(
            module=module, code=kind, name=kind.replace("_", " ").capitalize()
        )
    return kinds


def make_organizations(company: Company, module: Module, count: int) -> None:
    """`count` organizations with external ids `<code>-<i>`; a tenth are parents, the
    other nine of every ten their children."""
    Organization.objects.bulk_create(
        [
            Organization(
                company=company,
                module=module,
                external_id=f"{module.code}-{i}",
                name=f"Org {i:06d} {module.name}",
                parent_external_id=f"{module.code}-{i - i % 10}" if i % 10 else "",
            )
            for i in range(count)
        ],
        batch_size=5000,
    )


def map_organizations(
    company: Company, module: Module, pairs: Iterable[tuple[int, int]]
) -> list[Mapping]:
    """Map each (account id, organization id) of the module."""
    return Mapping.objects.bulk_create(
        [
            Mapping(company=company, account_id=account_id, module=module, organization_id=org_id)
            for account_id, org_id in pairs
        ],
        batch_size=5000,
    )


def make_icb_services(
    company: Company, contracts: list[Contract], kinds: dict[str, BillingType], **fields
) -> None:
    """One ICB service per contract and module (`kinds`: {module code: billing type}), in
    the contracts' order then the modules'; `fields` set on every one (next_sync_at,
    units…; 0 units at 5.00 from the contract's start unless given)."""
    Service.objects.bulk_create(
        [
            Service(
                company=company,
                contract=contract,
                name=f"{code} {kind.code}",
                billing_mode="icb",
                icb_module_id=kind.module_id,
                icb_billing_type=kind,
                **{
                    "unit_price": Decimal("5.00"),
                    "units": Decimal("0"),
                    "start_date": contract.start_date,
                    **fields,
                },
            )
            for contract in contracts
            for code, kind in kinds.items()
        ],
        batch_size=5000,
    )


def insert_fast(
    model: type[Model], columns: list[str], rows: Iterable[tuple], **constants: Any
) -> None:
    """Insert rows into a fresh table without reading their ids back: the sync's own
    bulk insert (COPY on PostgreSQL, multi-row INSERTs on SQLite), several times faster
    than bulk_create at hundreds of thousands of rows. `rows`: tuples of the `columns`'
    database values (ids, text); `constants`: the other fields' values, the same for
    every row (by field name, foreign keys as ids); fields in neither get their default
    (auto_now: now)."""
    now = timezone.now()
    fixed = {}
    for f in model._meta.concrete_fields:
        if f.primary_key or f.name in columns:
            continue
        if f.name in constants:
            value = constants[f.name]
        elif getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            value = now
        else:
            value = f.get_default()
        fixed[f.name] = f.get_db_prep_save(value, connection)
    tail = tuple(fixed.values())
    rows = iter(rows)
    while chunk := [row + tail for row in islice(rows, 20_000)]:
        insert_rows(model, [*columns, *fixed], chunk)


def _ids(model: type[Model], company: Company, count: int) -> list[int]:
    """The ids of the company's last `count` rows of a model, oldest first."""
    return (
        model.objects.filter(company=company)
        .order_by("-id")
        .values_list("id", flat=True)[:count][::-1]
    )


def make_accounts_fast(company: Company, count: int) -> list[int]:
    """make_accounts' accounts (all active), answered as their ids in order."""
    rows = ((f"Customer {i:06d}", f"C{i:06d}") for i in range(count))
    insert_fast(Account, ["name", "code"], rows, company=company.pk)
    return _ids(Account, company, count)


def make_contracts_fast(company: Company, account_ids: list[int], start: date) -> list[int]:
    """One contract per account, in the accounts' order; answered as their ids."""
    insert_fast(
        Contract,
        ["account"],
        ((account_id,) for account_id in account_ids),
        company=company.pk,
        name="Managed Services",
        start_date=start,
        currency="USD",
    )
    return _ids(Contract, company, len(account_ids))


def store_organizations_fast(
    company: Company, module: Module, organizations: Iterable, now: datetime
) -> None:
    """A module's organizations as read from the hub, into an empty directory."""
    insert_fast(
        Organization,
        ["external_id", "name", "parent_external_id", "status"],
        ((o.id, o.name[:300], o.parent_id or "", o.status) for o in organizations),
        company=company.pk,
        module=module.pk,
        seen_at=now,
    )


def map_organizations_fast(
    company: Company, module: Module, pairs: Iterable[tuple[int, int]]
) -> None:
    """Map each (account id, organization id) of the module."""
    insert_fast(Mapping, ["account", "organization"], pairs, company=company.pk, module=module.pk)


def make_icb_services_fast(
    company: Company, contract_ids: list[int], kinds: dict[str, BillingType], **fields: Any
) -> None:
    """make_icb_services, by contract ids: one ICB service per contract and module, in
    the contracts' order then the modules' (a contract's services are created together,
    so the modules' ids interleave)."""
    insert_fast(
        Service,
        ["contract", "name", "icb_module", "icb_billing_type"],
        (
            (contract_id, f"{code} {kind.code}", kind.module_id, kind.pk)
            for contract_id in contract_ids
            for code, kind in kinds.items()
        ),
        **{"unit_price": Decimal("5.00"), "units": Decimal("0"), **fields},
        company=company.pk,
        billing_mode="icb",
    )
