"""The hub's catalogue and its generated, in-memory data.

Everything is derived from a seed: the same seed and size give the same modules,
organizations (names, ids, parents, statuses) and quantities. Each module draws from
its own ``random.Random(f"{seed}:{module}")``, and all modules pick their customers
from one shared list, so a company shows up under the same name in several modules
(with a different id in each, as in real tools).

All access goes through :class:`HubData`, which guards the state with one lock.
"""

from __future__ import annotations

import base64
import bisect
import gc
import hashlib
import json
import random
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from .errors import HubError
from .names import Customer, customer_pool, employees, site_name

STATUSES = ("active", "inactive", "cancelled")

ORGANIZATIONS_PAGE_DEFAULT = 1000
ORGANIZATIONS_PAGE_MAX = 5000
USAGE_PAGE_DEFAULT = 5000
USAGE_PAGE_MAX = 10000
USAGE_MAX_ORGANIZATIONS = 1000


@dataclass(frozen=True, slots=True)
class BillingType:
    code: str
    name: str
    unit: str
    decimals: int = 0

    def as_json(self) -> dict:
        return {"code": self.code, "name": self.name, "unit": self.unit}


Quantities = Callable[[random.Random, int], list[float]]


@dataclass(frozen=True, slots=True)
class ModuleDefinition:
    code: str
    name: str
    billing_types: tuple[BillingType, ...]
    id_style: str  # "numeric", "prefixed", "uuid" or "hex"
    quantities: Quantities = field(repr=False)

    def as_json(self) -> dict:
        return {
            "code": self.code,
            "name": self.name,
            "billing_types": [bt.as_json() for bt in self.billing_types],
        }


def _u(rng: random.Random, low: float, high: float) -> float:
    return low + (high - low) * rng.random()


def _rmm(rng: random.Random, staff: int) -> list[float]:
    desktops = round(staff * _u(rng, 0.25, 0.65))
    laptops = round(staff * _u(rng, 0.15, 0.55))
    servers = int(staff / 18 * _u(rng, 0.5, 1.5)) + (1 if staff >= 8 else 0)
    network = 1 + int(staff / 25 * _u(rng, 0.5, 2.0))
    printers = int(staff / 15 * _u(rng, 0.3, 1.5))
    esxi = 1 + int(rng.random() * 3) if staff >= 40 and rng.random() < 0.35 else 0
    workstations = desktops + laptops
    total = workstations + servers + network + printers + esxi
    return [total, workstations, desktops, laptops, servers, network, printers, esxi]


def _backup(rng: random.Random, staff: int) -> list[float]:
    protected = 1 + int(staff / 15 * _u(rng, 0.5, 1.5))
    agents = protected + int(staff * _u(rng, 0.0, 0.3))
    storage = protected * _u(rng, 40.0, 1200.0)
    return [protected, agents, storage]


def _per_user(low: float, high: float) -> Quantities:
    def quantities(rng: random.Random, staff: int) -> list[float]:
        return [max(1, round(staff * _u(rng, low, high)))]

    return quantities


def _training(rng: random.Random, staff: int) -> list[float]:
    users = max(1, round(staff * _u(rng, 0.7, 1.0)))
    return [users, 1 if rng.random() < 0.65 else 0]


def _bt(code: str, name: str, unit: str, decimals: int = 0) -> BillingType:
    return BillingType(code, name, unit, decimals)


CATALOGUE: tuple[ModuleDefinition, ...] = (
    ModuleDefinition(
        "rmm",
        "RMM",
        (
            _bt("total_devices", "Total Device Count", "device"),
            _bt("workstations", "Desktop & Laptop", "device"),
            _bt("desktops", "Desktop", "device"),
            _bt("laptops", "Laptop", "device"),
            _bt("servers", "Server", "device"),
            _bt("network_devices", "Network Device", "device"),
            _bt("printers", "Printer", "device"),
            _bt("esxi_hosts", "ESXi Host", "device"),
        ),
        "numeric",
        _rmm,
    ),
    ModuleDefinition(
        "backup",
        "BCDR Backup",
        (
            _bt("protected_devices", "Protected Devices", "device"),
            _bt("agents", "Agents", "agent"),
            _bt("offsite_storage_gb", "Offsite Storage (GB)", "GB", decimals=2),
        ),
        "hex",
        _backup,
    ),
    ModuleDefinition(
        "docs",
        "IT Documentation",
        (_bt("users", "Users", "user"),),
        "numeric",
        _per_user(0.85, 1.1),
    ),
    ModuleDefinition(
        "training",
        "Security Awareness Training",
        (
            _bt("users", "Users", "user"),
            _bt("phishing_enabled", "Phishing Simulation Enabled", "flag"),
        ),
        "uuid",
        _training,
    ),
    ModuleDefinition(
        "email_security",
        "Email Security",
        (_bt("protected_mailboxes", "Protected Mailboxes", "mailbox"),),
        "prefixed",
        _per_user(0.9, 1.35),
    ),
    ModuleDefinition(
        "saas_backup",
        "SaaS Backup",
        (_bt("licensed_seats", "Licensed Seats", "seat"),),
        "uuid",
        _per_user(0.85, 1.2),
    ),
    ModuleDefinition(
        "edr",
        "EDR",
        (_bt("protected_endpoints", "Protected Endpoints", "endpoint"),),
        "numeric",
        _per_user(1.05, 1.6),
    ),
)


DEFINITIONS = {definition.code: definition for definition in CATALOGUE}


def format_quantity(value: float, decimals: int) -> str:
    if decimals:
        return f"{value:.{decimals}f}"
    return str(int(value))


def parse_quantity(value: object) -> str:
    """A quantity given by a test control, as the decimal string the API reports.

    Negative values are accepted on purpose: clients can test how they treat a hub
    that reports nonsense. A conforming hub never reports them.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise HubError(400, "invalid_quantity", "quantity must be a decimal string or number")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise HubError(400, "invalid_quantity", f"not a decimal number: {value!r}") from None
    if not number.is_finite():
        raise HubError(400, "invalid_quantity", f"not a finite number: {value!r}")
    return format(number, "f")


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Organization:
    __slots__ = ("seq", "id", "name", "parent_id", "status", "quantities", "measured_at")

    def __init__(
        self,
        seq: int,
        org_id: str,
        name: str,
        parent_id: str | None,
        status: str,
        quantities: list[str],
        measured_at: list[str],
    ) -> None:
        self.seq = seq
        self.id = org_id
        self.name = name
        self.parent_id = parent_id
        self.status = status
        self.quantities = quantities
        self.measured_at = measured_at

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "parent_id": self.parent_id,
            "status": self.status,
        }


class IdMaker:
    """Ids in the style of one vendor's tool; unique within a module."""

    def __init__(self, style: str, prefix: str, rng: random.Random) -> None:
        self.style = style
        self.prefix = prefix
        self.rng = rng
        self.counter = 100000 + rng.randrange(900000) if style == "numeric" else 0

    def next(self, taken: dict[str, Organization]) -> str:
        while True:
            if self.style == "numeric":
                self.counter += 1 + int(self.rng.random() * 9)
                candidate = str(self.counter)
            elif self.style == "prefixed":
                self.counter += 1
                candidate = f"{self.prefix}-{self.counter:06d}"
            elif self.style == "uuid":
                candidate = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
            else:
                candidate = f"{self.rng.getrandbits(48):012x}"
            if candidate not in taken:
                return candidate


class ModuleData:
    def __init__(self, definition: ModuleDefinition, ids: IdMaker) -> None:
        self.definition = definition
        self.ids = ids
        self.organizations: list[Organization] = []  # ordered by seq: parents first
        self.seqs: list[int] = []
        self.by_id: dict[str, Organization] = {}
        self.bt_index = {bt.code: i for i, bt in enumerate(definition.billing_types)}
        self.next_seq = 0

    def append(self, org: Organization) -> None:
        self.organizations.append(org)
        self.seqs.append(org.seq)
        self.by_id[org.id] = org
        self.next_seq = org.seq + 1


def _status(draw: Callable[[], float]) -> str:
    roll = draw()
    if roll < 0.92:
        return "active"
    return "inactive" if roll < 0.97 else "cancelled"


def generate_module(
    definition: ModuleDefinition,
    seed: int,
    count: int,
    pool: list[Customer],
    now: datetime,
) -> ModuleData:
    """``count`` organizations (parents and their sites) of one module."""
    rng = random.Random(f"{seed}:{definition.code}")
    draw = rng.random
    id_rng = random.Random(f"{seed}:{definition.code}:ids")
    ids = IdMaker(definition.id_style, definition.code, id_rng)
    module = ModuleData(definition, ids)
    decimals = [bt.decimals for bt in definition.billing_types]
    zeros = [format_quantity(0, d) for d in decimals]
    width = len(decimals)
    plain = not any(decimals)
    base = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    stamps = [iso(base - timedelta(minutes=m)) for m in range(5, 65)]
    order = list(range(len(pool)))
    rng.shuffle(order)
    organizations = module.organizations
    by_id = module.by_id
    make_quantities = definition.quantities

    def add(name: str, parent_id: str | None, status: str, staff: int) -> str:
        values = make_quantities(rng, staff)
        if status == "cancelled" or (status == "inactive" and draw() < 0.5):
            quantities = list(zeros)
        elif plain:
            quantities = [str(int(v)) for v in values]
        else:
            quantities = [format_quantity(v, d) for v, d in zip(values, decimals, strict=True)]
        org_id = ids.next(by_id)
        seq = len(organizations)
        org = Organization(
            seq, org_id, name, parent_id, status, quantities, [stamps[int(draw() * 60)]] * width
        )
        organizations.append(org)
        by_id[org_id] = org
        return org_id

    picked = 0
    while len(organizations) < count:
        customer = pool[order[picked % len(order)]]
        picked += 1
        status = _status(draw)
        parent_id = add(customer.name, None, status, customer.employees)
        room = count - len(organizations)
        if room > 0 and draw() < 0.18:
            taken: set[str] = set()
            for _ in range(min(room, (1, 1, 2, 2, 3)[int(draw() * 5)])):
                child_status = status if status != "active" else _status(draw)
                staff = max(1, int(employees(rng) * 0.4))
                add(site_name(rng, customer.name, taken), parent_id, child_status, staff)
    module.seqs = list(range(len(organizations)))
    module.next_seq = len(organizations)
    return module


def _encode_cursor(payload: dict) -> str:
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: object, keys: Iterable[str]) -> dict:
    error = HubError(400, "invalid_cursor", "cursor is not one this hub handed out")
    if not isinstance(cursor, str) or not cursor or len(cursor) > 512:
        raise error
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise error from None
    if not isinstance(payload, dict) or payload.get("v") != 1:
        raise error
    for key in keys:
        if key not in payload:
            raise error
    return payload


def _limit(value: object, default: int, maximum: int) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, str):
        value = value.strip()
        if not value.isdigit():
            raise HubError(400, "invalid_limit", f"limit must be an integer from 1 to {maximum}")
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise HubError(400, "invalid_limit", f"limit must be an integer from 1 to {maximum}")
    return value


class HubData:
    """The hub's modules, organizations and quantities, safe to use from many threads."""

    def __init__(self, seed: int, organizations: int, now: datetime | None = None) -> None:
        self.seed = seed
        self.organizations_per_module = organizations
        self._lock = threading.RLock()
        self._modules: dict[str, ModuleData] = {}
        self._pool: list[Customer] = []
        self._now = datetime.now(UTC)
        self.reset(now)

    def reset(self, now: datetime | None = None) -> None:
        """Start again from the seed, dropping changes made since.

        Modules are generated when first used, so a hub with 100,000s of organizations
        per module starts at once; each module then takes well under a second.
        """
        pool = customer_pool(self.seed, max(1, self.organizations_per_module))
        with self._lock:
            self._pool = pool
            self._now = now or datetime.now(UTC)
            self._modules = {}

    def generate_all(self) -> None:
        with self._lock:
            for definition in CATALOGUE:
                self._module(definition.code)

    # --- reading ---------------------------------------------------------------

    def _module(self, code: object) -> ModuleData:
        definition = DEFINITIONS.get(code) if isinstance(code, str) else None
        if definition is None:
            raise HubError(404, "unknown_module", f"no module with code {code!r}")
        with self._lock:
            module = self._modules.get(definition.code)
            if module is None:
                # Up to millions of small objects and no reference cycles: collecting
                # garbage meanwhile only costs time.
                gc_was_enabled = gc.isenabled()
                gc.disable()
                try:
                    module = generate_module(
                        definition,
                        self.seed,
                        self.organizations_per_module,
                        self._pool,
                        self._now,
                    )
                finally:
                    gc.freeze()  # keep later collections from walking all of it again
                    if gc_was_enabled:
                        gc.enable()
                self._modules[definition.code] = module
            return module

    def modules(self) -> list[dict]:
        return [definition.as_json() for definition in CATALOGUE]

    def list_organizations(
        self,
        module_code: str,
        cursor: str | None = None,
        limit: object = None,
        *,
        repeat_cursor: bool = False,
    ) -> dict:
        """One page of a module's organizations. ``repeat_cursor`` (a fault) answers a
        ``next_cursor`` that leads back to this very page."""
        size = _limit(limit, ORGANIZATIONS_PAGE_DEFAULT, ORGANIZATIONS_PAGE_MAX)
        with self._lock:
            module = self._module(module_code)
            start = 0
            if cursor:
                payload = _decode_cursor(cursor, ("m", "after"))
                after = payload["after"]
                if payload["m"] != module_code or not isinstance(after, int):
                    raise HubError(400, "invalid_cursor", "cursor is not one this hub handed out")
                start = bisect.bisect_right(module.seqs, after)
            page = module.organizations[start : start + size]
            more = start + size < len(module.organizations)
            next_cursor = (
                _encode_cursor({"v": 1, "m": module_code, "after": page[-1].seq})
                if more and page
                else None
            )
            if repeat_cursor:
                next_cursor = cursor or _encode_cursor({"v": 1, "m": module_code, "after": -1})
            return {
                "organizations": [org.as_json() for org in page],
                "next_cursor": next_cursor,
            }

    def query_usage(
        self,
        module_code: object,
        organization_ids: object,
        billing_types: object = None,
        cursor: object = None,
        limit: object = None,
        *,
        repeat_cursor: bool = False,
    ) -> dict:
        """One page of a usage query. ``repeat_cursor`` (a fault) answers a
        ``next_cursor`` that leads back to this very page."""
        size = _limit(limit, USAGE_PAGE_DEFAULT, USAGE_PAGE_MAX)
        if (
            not isinstance(organization_ids, list)
            or not organization_ids
            or len(organization_ids) > USAGE_MAX_ORGANIZATIONS
        ):
            raise HubError(
                400,
                "invalid_organization_ids",
                f"organization_ids must be a list of 1 to {USAGE_MAX_ORGANIZATIONS} ids",
            )
        if not all(isinstance(i, str) and i for i in organization_ids):
            raise HubError(
                400, "invalid_organization_ids", "every organization id must be a non-empty string"
            )
        ids = list(dict.fromkeys(organization_ids))
        with self._lock:
            module = self._module(module_code)
            definition = module.definition
            if billing_types is None:
                wanted = [bt.code for bt in definition.billing_types]
            elif (
                isinstance(billing_types, list)
                and billing_types
                and all(isinstance(b, str) for b in billing_types)
            ):
                unknown = [b for b in billing_types if b not in module.bt_index]
                if unknown:
                    raise HubError(
                        400,
                        "unknown_billing_type",
                        f"module {definition.code!r} has no billing type "
                        + ", ".join(repr(b) for b in unknown),
                    )
                wanted = list(dict.fromkeys(billing_types))
            else:
                raise HubError(
                    400,
                    "invalid_billing_types",
                    "billing_types must be a non-empty list of billing type codes",
                )
            digest = hashlib.sha256(
                json.dumps([definition.code, ids, wanted]).encode()
            ).hexdigest()[:16]
            position = 0
            if cursor is not None:
                payload = _decode_cursor(cursor, ("q", "p"))
                position = payload["p"]
                if payload["q"] != digest or not isinstance(position, int) or position < 0:
                    raise HubError(
                        400,
                        "invalid_cursor",
                        "cursor does not belong to this query (same module, ids and types)",
                    )
            columns = [module.bt_index[b] for b in wanted]
            width = len(columns)
            total = len(ids) * width
            rows: list[dict] = []
            while position < total and len(rows) < size:
                row, column = divmod(position, width)
                org = module.by_id.get(ids[row])
                if org is None:
                    position = (row + 1) * width
                    continue
                index = columns[column]
                rows.append(
                    {
                        "organization_id": org.id,
                        "billing_type": wanted[column],
                        "quantity": org.quantities[index],
                        "measured_at": org.measured_at[index],
                    }
                )
                position += 1
            # Skip organizations the hub does not know, so no page is empty.
            while position < total and ids[position // width] not in module.by_id:
                position = (position // width + 1) * width
            next_cursor = (
                _encode_cursor({"v": 1, "q": digest, "p": position}) if position < total else None
            )
            if repeat_cursor:
                next_cursor = cursor or _encode_cursor({"v": 1, "q": digest, "p": 0})
            return {
                "module": definition.code,
                "usage": rows,
                "missing": [i for i in ids if i not in module.by_id],
                "next_cursor": next_cursor,
            }

    # --- test controls ---------------------------------------------------------

    def _organization(self, module: ModuleData, org_id: object) -> Organization:
        org = module.by_id.get(org_id) if isinstance(org_id, str) else None
        if org is None:
            raise HubError(
                404,
                "unknown_organization",
                f"no organization {org_id!r} in module {module.definition.code!r}",
            )
        return org

    def _quantities_json(self, module: ModuleData, org: Organization) -> dict:
        return {
            "module": module.definition.code,
            "organization_id": org.id,
            "quantities": {
                bt.code: org.quantities[i] for i, bt in enumerate(module.definition.billing_types)
            },
            "measured_at": {
                bt.code: org.measured_at[i] for i, bt in enumerate(module.definition.billing_types)
            },
        }

    def get_quantities(self, module_code: object, org_id: object) -> dict:
        with self._lock:
            module = self._module(module_code)
            return self._quantities_json(module, self._organization(module, org_id))

    def set_quantity(
        self, module_code: object, org_id: object, billing_type: object, quantity: object
    ) -> dict:
        value = parse_quantity(quantity)
        with self._lock:
            module = self._module(module_code)
            org = self._organization(module, org_id)
            index = module.bt_index.get(billing_type) if isinstance(billing_type, str) else None
            if index is None:
                raise HubError(
                    400,
                    "unknown_billing_type",
                    f"module {module.definition.code!r} has no billing type {billing_type!r}",
                )
            org.quantities[index] = value
            org.measured_at[index] = iso(datetime.now(UTC))
            return self._quantities_json(module, org)

    def add_organization(
        self,
        module_code: object,
        name: object,
        org_id: object = None,
        parent_id: object = None,
        status: object = None,
        quantities: object = None,
    ) -> dict:
        if not isinstance(name, str) or not name.strip():
            raise HubError(400, "invalid_name", "name must be a non-empty string")
        status = "active" if status is None else status
        if status not in STATUSES:
            raise HubError(400, "invalid_status", f"status must be one of {', '.join(STATUSES)}")
        if org_id is not None and (not isinstance(org_id, str) or not org_id):
            raise HubError(400, "invalid_id", "id must be a non-empty string")
        if quantities is not None and not isinstance(quantities, dict):
            raise HubError(400, "invalid_quantity", "quantities must be an object")
        with self._lock:
            module = self._module(module_code)
            if org_id is not None and org_id in module.by_id:
                raise HubError(409, "duplicate_organization", f"organization {org_id!r} exists")
            if parent_id is not None:
                self._organization(module, parent_id)
            values = [format_quantity(0, bt.decimals) for bt in module.definition.billing_types]
            for code, value in (quantities or {}).items():
                if code not in module.bt_index:
                    raise HubError(
                        400,
                        "unknown_billing_type",
                        f"module {module.definition.code!r} has no billing type {code!r}",
                    )
                values[module.bt_index[code]] = parse_quantity(value)
            org = Organization(
                module.next_seq,
                org_id if org_id is not None else module.ids.next(module.by_id),
                name.strip(),
                parent_id,
                status,
                values,
                [iso(datetime.now(UTC))] * len(values),
            )
            module.append(org)
            return {**org.as_json(), **self._quantities_json(module, org)}

    def remove_organization(self, module_code: object, org_id: object) -> None:
        with self._lock:
            module = self._module(module_code)
            org = self._organization(module, org_id)
            if any(o.parent_id == org.id for o in module.organizations):
                raise HubError(
                    409,
                    "organization_has_children",
                    f"remove the children of {org.id!r} first",
                )
            index = bisect.bisect_left(module.seqs, org.seq)
            del module.organizations[index]
            del module.seqs[index]
            del module.by_id[org.id]
