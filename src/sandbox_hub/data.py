"""The hub's catalogue and its generated, in-memory data.

Everything is derived from a seed and a date, the hub's *today*: the same seed, size
and day give the same modules, organizations (names, ids, parents, statuses) and
quantities. Each module draws from its own ``random.Random(f"{seed}:{module}")``, and
all modules pick their customers from one shared list, so a company shows up under the
same name in several modules (with a different id in each, as in real tools). The
demo's customers (``demo_customers.json``) come first in the modules that list them.

From one day to the next the data drifts as a customer base does (see :func:`drift`):
head counts wave up and down, so devices are added and retired and seats are bought
and dropped; now and then a customer downsizes for a few weeks; and every few weeks a
new customer joins a module (:func:`newcomers`). A change made through a test control
is a record of its own (:class:`HubData` keeps them in order) that is applied again on
top of each day's data, so it stays as made.

All access goes through :class:`HubData`, which guards the state with one lock.
"""

from __future__ import annotations

import base64
import bisect
import gc
import hashlib
import json
import math
import random
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from .errors import HubError
from .names import (
    Customer,
    DemoCustomer,
    customer_pool,
    demo_customers,
    employees,
    new_customer,
    site_name,
)

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
# (the quantities on the first day, the head count's ratio to then, a wave from -1 to 1
# that moves a little every day) -> the quantities of the day
Drift = Callable[[list[float], float, float], list[float]]


@dataclass(frozen=True, slots=True)
class ModuleDefinition:
    code: str
    name: str
    billing_types: tuple[BillingType, ...]
    id_style: str  # "numeric", "prefixed", "uuid" or "hex"
    quantities: Quantities = field(repr=False)
    drift: Drift = field(repr=False)

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


# --- drift: how each module's quantities follow a customer's head count ----------------


def _rmm_drift(values: list[float], ratio: float, wave: float) -> list[float]:
    _, _, desktops, laptops, servers, network, printers, esxi = values
    desktops = round(desktops * ratio)
    laptops = round(laptops * ratio)
    printers = round(printers * (1 + (ratio - 1) / 2))  # printers follow more slowly
    workstations = desktops + laptops
    total = workstations + servers + network + printers + esxi
    return [total, workstations, desktops, laptops, servers, network, printers, esxi]


def _backup_drift(values: list[float], ratio: float, wave: float) -> list[float]:
    protected, agents, storage = values
    new_protected = max(1, round(protected * ratio))
    new_agents = new_protected + round((agents - protected) * ratio)
    # Offsite storage breathes around its level (retention, new data): a new figure daily.
    return [new_protected, new_agents, storage * ratio * (1 + 0.05 * wave)]


def _per_user_drift(values: list[float], ratio: float, wave: float) -> list[float]:
    return [max(1, round(values[0] * ratio))]


def _training_drift(values: list[float], ratio: float, wave: float) -> list[float]:
    return [max(1, round(values[0] * ratio)), values[1]]


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
        _rmm_drift,
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
        _backup_drift,
    ),
    ModuleDefinition(
        "docs",
        "IT Documentation",
        (_bt("users", "Users", "user"),),
        "numeric",
        _per_user(0.85, 1.1),
        _per_user_drift,
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
        _training_drift,
    ),
    ModuleDefinition(
        "email_security",
        "Email Security",
        (_bt("protected_mailboxes", "Protected Mailboxes", "mailbox"),),
        "prefixed",
        _per_user(0.9, 1.35),
        _per_user_drift,
    ),
    ModuleDefinition(
        "saas_backup",
        "SaaS Backup",
        (_bt("licensed_seats", "Licensed Seats", "seat"),),
        "uuid",
        _per_user(0.85, 1.2),
        _per_user_drift,
    ),
    ModuleDefinition(
        "edr",
        "EDR",
        (_bt("protected_endpoints", "Protected Endpoints", "endpoint"),),
        "numeric",
        _per_user(1.05, 1.6),
        _per_user_drift,
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

    def __init__(self, style: str, prefix: str, rng: random.Random, *, later: bool = False) -> None:
        """``later``: the ids of customers who join after the first day, from a range of
        their own, so they never take an id the first day's or a test control's could."""
        self.style = style
        self.prefix = prefix
        self.rng = rng
        if style == "numeric":
            self.counter = (20_000_000 if later else 100000) + rng.randrange(900000)
        else:
            self.counter = 900_000 if later else 0

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
    def __init__(self, definition: ModuleDefinition, ids: IdMaker, day: date) -> None:
        self.definition = definition
        self.ids = ids
        self.day = day  # the hub's today this data is of
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


MASK64 = (1 << 64) - 1


def _mix(value: int) -> int:
    """SplitMix64: a well-spread 64-bit number from an integer, the same on every
    machine and Python (unlike ``hash``)."""
    x = (value + 0x9E3779B97F4A7C15) & MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)


def _key(*parts: object) -> int:
    text = ":".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def drift(key: int, staff: int, day: int) -> tuple[float, float]:
    """How one organization has changed on ``day`` (``date.toordinal()``): its head
    count's ratio to the first day's ``staff``, and a wave from -1 to 1 that moves a
    little every day. ``key`` gives each organization its own rhythm.

    The head count waves up and down by 3 to 9 % (at least about one person) over 9 to
    48 days; one organization in five also downsizes by 8 to 19 % for one to four weeks
    in every two to four months. A pure function of its arguments: no history is kept.
    """
    r = _mix(key)
    period = 9 + r % 40
    phase = ((r >> 8) & 0x3FF) / 1024
    height = max(0.8, staff * (0.03 + ((r >> 18) & 0x3F) / 1000))
    wave = math.sin(2 * math.pi * (day / period + phase))
    count = staff + height * wave
    if (r >> 24) % 5 == 0:
        cycle = 60 + (r >> 27) % 60
        length = 7 + (r >> 34) % 22
        if (day + (r >> 40) % cycle) % cycle < length:
            count -= staff * (0.08 + ((r >> 48) % 12) / 100)
    return max(0.2, count) / staff, wave


# New customers join each module from this day on, one in every stretch of days.
NEWCOMERS_FROM = date(2026, 10, 1)
NEWCOMER_EVERY = 28


def newcomers(seed: int, module: str, day: date) -> list[date]:
    """The days new customers joined ``module`` up to ``day``: one on a day of its own in
    every ``NEWCOMER_EVERY`` days since ``NEWCOMERS_FROM``, so the hub as a whole gains a
    customer every few days."""
    key = _key(seed, module, "newcomers")
    first = NEWCOMERS_FROM.toordinal()
    joined: list[date] = []
    while True:
        number = len(joined)
        when = first + number * NEWCOMER_EVERY + _mix(key + number) % NEWCOMER_EVERY
        if when > day.toordinal():
            return joined
        joined.append(date.fromordinal(when))


def generate_module(
    definition: ModuleDefinition,
    seed: int,
    count: int,
    pool: list[Customer],
    now: datetime,
    day: date | None = None,
    demo: tuple[DemoCustomer, ...] = (),
) -> ModuleData:
    """The organizations (parents and their sites) of one module on ``day`` (by default
    ``now``'s): the demo's customers this module lists, then generated ones up to
    ``count``, then those who joined after the first day; quantities as of ``day``."""
    day = day or now.astimezone(UTC).date()
    code = definition.code
    rng = random.Random(f"{seed}:{code}")
    draw = rng.random
    id_rng = random.Random(f"{seed}:{code}:ids")
    ids = IdMaker(definition.id_style, code, id_rng)
    module = ModuleData(definition, ids, day)
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
    drift_quantities = definition.drift
    drift_key = _key(seed, code, "drift")
    today = day.toordinal()

    def add(
        name: str,
        parent_id: str | None,
        status: str,
        staff: int,
        gen: random.Random = rng,
        maker: IdMaker = ids,
    ) -> str:
        values = make_quantities(gen, staff)
        seq = len(organizations)
        if status == "cancelled" or (status == "inactive" and gen.random() < 0.5):
            quantities = list(zeros)
        else:
            ratio, wave = drift(drift_key + seq, staff, today)
            values = drift_quantities(values, ratio, wave)
            if plain:
                quantities = [str(int(v)) for v in values]
            else:
                quantities = [format_quantity(v, d) for v, d in zip(values, decimals, strict=True)]
        org_id = maker.next(by_id)
        org = Organization(
            seq,
            org_id,
            name,
            parent_id,
            status,
            quantities,
            [stamps[int(gen.random() * 60)]] * width,
        )
        organizations.append(org)
        by_id[org_id] = org
        return org_id

    # The demo's customers, as this module's tool spells them, each with all its sites.
    demo_rng = random.Random(f"{seed}:{code}:demo")
    for demo_customer in demo:
        listed = demo_customer.hub.get(code)
        if listed is None or len(organizations) + 1 + len(listed.sites) > count:
            continue
        sites = len(listed.sites)
        size = demo_customer.employees
        head = size if not sites else max(1, round(size * 0.6))
        parent_id = add(listed.name, None, listed.status, head, demo_rng)
        for site in listed.sites:
            staff = max(1, round(size * 0.4 / sites))
            add(site, parent_id, listed.status, staff, demo_rng)

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

    # Customers who joined since: the same ones on the same days, whatever today is.
    later_ids = IdMaker(
        definition.id_style, code, random.Random(f"{seed}:{code}:later-ids"), later=True
    )
    names = {org.name for org in organizations}
    for number, _joined in enumerate(newcomers(seed, code, day)):
        customer = new_customer(seed, code, number, names)
        names.add(customer.name)
        gen = random.Random(f"{seed}:{code}:new:{number}:quantities")
        add(customer.name, None, "active", customer.employees, gen, later_ids)

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


def parse_day(value: object) -> date:
    """A day given as ``YYYY-MM-DD``."""
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise HubError(400, "invalid_date", f"not a date (YYYY-MM-DD): {value!r}")


class HubData:
    """The hub's modules, organizations and quantities, safe to use from many threads.

    ``today`` pins the hub's day (by default the clock's day, in UTC); the data is that
    of its day. The changes made through the test controls are kept in order, per
    module, and applied again whenever a module's data is made for another day.
    """

    def __init__(
        self,
        seed: int,
        organizations: int,
        now: datetime | None = None,
        today: date | None = None,
    ) -> None:
        self.seed = seed
        self.organizations_per_module = organizations
        self._lock = threading.RLock()
        self._modules: dict[str, ModuleData] = {}
        self._pool: list[Customer] = []
        self._fixed_now = now
        self._configured_today = today
        self._today: date | None = today
        self._today_changed = False  # by the test control, since the start or a reset
        self._changes: dict[str, list[dict]] = {}
        self.reset(now)

    def reset(self, now: datetime | None = None) -> None:
        """Start again from the seed, dropping changes made since (the hub's today
        included: back to the one it was started with).

        Modules are generated when first used, so a hub with 100,000s of organizations
        per module starts at once; each module then takes well under a second.
        """
        pool = customer_pool(self.seed, max(1, self.organizations_per_module))
        with self._lock:
            self._pool = pool
            self._fixed_now = now or self._fixed_now
            self._modules = {}
            self._changes = {}
            self._today = self._configured_today
            self._today_changed = False

    def generate_all(self) -> None:
        with self._lock:
            for definition in CATALOGUE:
                self._module(definition.code)

    # --- the hub's day ---------------------------------------------------------

    def today(self) -> date:
        with self._lock:
            return self._today or datetime.now(UTC).date()

    def today_json(self) -> dict:
        with self._lock:
            return {"today": self.today().isoformat(), "pinned": self._today is not None}

    def set_today(self, day: date | None) -> dict:
        """Pin the hub's day, or follow the clock again with ``None``."""
        with self._lock:
            self._today = day
            self._today_changed = True
            return self.today_json()

    # --- reading ---------------------------------------------------------------

    def _module(self, code: object) -> ModuleData:
        definition = DEFINITIONS.get(code) if isinstance(code, str) else None
        if definition is None:
            raise HubError(404, "unknown_module", f"no module with code {code!r}")
        with self._lock:
            module = self._modules.get(definition.code)
            today = self.today()
            if module is None or module.day != today:
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
                        self._fixed_now or datetime.now(UTC),
                        today,
                        demo_customers(),
                    )
                    for change in self._changes.get(definition.code, ()):
                        try:
                            self._apply(module, change)
                        except HubError:
                            pass  # it concerns an organization this day does not have
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
            change = {
                "op": "set_quantity",
                "organization_id": org_id,
                "billing_type": billing_type,
                "quantity": value,
                "measured_at": iso(datetime.now(UTC)),
            }
            org = self._apply(module, change)
            changes = self._changes.setdefault(module.definition.code, [])
            changes[:] = [c for c in changes if not _same_quantity(c, change)]
            changes.append(change)
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
            values = {}
            for code, value in (quantities or {}).items():
                if code not in module.bt_index:
                    raise HubError(
                        400,
                        "unknown_billing_type",
                        f"module {module.definition.code!r} has no billing type {code!r}",
                    )
                values[code] = parse_quantity(value)
            change = {
                "op": "add_organization",
                "id": org_id if org_id is not None else module.ids.next(module.by_id),
                "name": name.strip(),
                "parent_id": parent_id,
                "status": status,
                "quantities": values,
                "measured_at": iso(datetime.now(UTC)),
            }
            org = self._apply(module, change)
            self._changes.setdefault(module.definition.code, []).append(change)
            return {**org.as_json(), **self._quantities_json(module, org)}

    def remove_organization(self, module_code: object, org_id: object) -> None:
        with self._lock:
            module = self._module(module_code)
            change = {"op": "remove_organization", "id": org_id}
            self._apply(module, change)
            changes = self._changes.setdefault(module.definition.code, [])
            added = any(c["op"] == "add_organization" and c["id"] == org_id for c in changes)
            # What was made of it goes; removing one a control added leaves no trace.
            changes[:] = [
                c for c in changes if org_id not in (c.get("id"), c.get("organization_id"))
            ]
            if not added:
                changes.append(change)

    def _apply(self, module: ModuleData, change: dict) -> Organization:
        """Make one test-control change to a module's data (checked, not recorded)."""
        op = change["op"]
        if op == "set_quantity":
            org = self._organization(module, change["organization_id"])
            billing_type = change["billing_type"]
            index = module.bt_index.get(billing_type) if isinstance(billing_type, str) else None
            if index is None:
                raise HubError(
                    400,
                    "unknown_billing_type",
                    f"module {module.definition.code!r} has no billing type {billing_type!r}",
                )
            org.quantities[index] = change["quantity"]
            org.measured_at[index] = change["measured_at"]
            return org
        if op == "add_organization":
            if change["id"] in module.by_id:
                raise HubError(
                    409, "duplicate_organization", f"organization {change['id']!r} exists"
                )
            if change["parent_id"] is not None:
                self._organization(module, change["parent_id"])
            values = [format_quantity(0, bt.decimals) for bt in module.definition.billing_types]
            for code, value in change["quantities"].items():
                if code not in module.bt_index:
                    raise HubError(400, "unknown_billing_type", f"no billing type {code!r}")
                values[module.bt_index[code]] = value
            org = Organization(
                module.next_seq,
                change["id"],
                change["name"],
                change["parent_id"],
                change["status"],
                values,
                [change["measured_at"]] * len(values),
            )
            module.append(org)
            return org
        if op == "remove_organization":
            org = self._organization(module, change["id"])
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
            return org
        raise HubError(400, "invalid_change", f"unknown change {op!r}")

    # --- what a state file keeps -------------------------------------------------

    def export_state(self) -> dict:
        """The test controls' changes (and the day, if a control set it), as JSON."""
        with self._lock:
            state: dict = {
                "changes": {code: [dict(c) for c in items] for code, items in self._changes.items()}
            }
            if self._today_changed:
                state["today"] = self._today.isoformat() if self._today else None
            return state

    def import_state(self, state: dict) -> None:
        """Take back what :meth:`export_state` gave (changes that no longer apply, such
        as ones about an organization another seed does not have, are skipped)."""
        changes = state.get("changes")
        if not isinstance(changes, dict):
            raise ValueError("no 'changes' object")
        known = {
            code: [c for c in map(_checked_change, items) if c is not None]
            for code, items in changes.items()
            if code in DEFINITIONS and isinstance(items, list)
        }
        with self._lock:
            self._changes = known
            if "today" in state:
                self._today = parse_day(state["today"]) if state["today"] else None
                self._today_changed = True
            self._modules = {}


def _same_quantity(old: dict, new: dict) -> bool:
    return old["op"] == "set_quantity" and (
        old["organization_id"],
        old["billing_type"],
    ) == (new["organization_id"], new["billing_type"])


def _checked_change(change: object) -> dict | None:
    """A change read from a state file in the shape the controls record, or None."""
    if not isinstance(change, dict):
        return None
    op = change.get("op")
    strings = {
        "set_quantity": ("organization_id", "billing_type", "measured_at"),
        "add_organization": ("id", "name", "status", "measured_at"),
        "remove_organization": ("id",),
    }.get(op if isinstance(op, str) else "")
    if strings is None or not all(isinstance(change.get(k), str) for k in strings):
        return None
    try:
        if change["op"] == "set_quantity":
            return {**change, "quantity": parse_quantity(change.get("quantity"))}
        if change["op"] == "add_organization":
            quantities = change.get("quantities")
            parent = change.get("parent_id")
            if not isinstance(quantities, dict) or not isinstance(parent, str | None):
                return None
            if change["status"] not in STATUSES:
                return None
            return {
                **change,
                "quantities": {str(k): parse_quantity(v) for k, v in quantities.items()},
            }
    except HubError:
        return None
    return dict(change)
