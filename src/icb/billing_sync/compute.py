"""Stage 2 of the sync engine: what a batch's services should now be. Plan a batch from
the database (its services and their mappings), then make each service's outcome from
the hub's usage, in memory. Nothing here writes.

    plan_batch(company, batch)              -> Plan: outcomes known without the hub, and
                                               the hub reads (one per module) to make
    apply_usage(company, plan, read, get)   -> the read's outcomes, from its usage or its
                                               failure
    compute_units(organizations, type, usage)  -> one service's Outcome

Units only ever change to a sum computed from a complete, validated hub answer; any
failure is an ERROR outcome, which keeps them.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from json.encoder import encode_basestring_ascii as _quoted  # json.dumps' own, in C
from typing import Any

from django.conf import settings

from icb.common.money import to_cents
from icb.contracts.models import DECIMAL_PLACES, MAX_DIGITS, SyncStatus
from icb.hub.client import UsageResult
from icb.hub.errors import HubError
from icb.mapping.models import Mapping
from icb.tenancy.models import Company

from .dispatch import Batch

log = logging.getLogger(__name__)

# Units are DECIMAL(12, 2): anything at or above 10^10 cannot be stored.
UNITS_LIMIT = Decimal(10) ** (MAX_DIGITS - DECIMAL_PLACES)
MAPPING_INCOMPLETE_MESSAGE = "Mapping Settings Incomplete"
# After a manual sync gave up at its time limit (and after any unexpected failure).
KEPT_TRY_AGAIN = "the units were kept. Try again, or wait for the automatic retry."
MODULE_GONE_MESSAGE = (
    "The module or billing type of this service no longer exists. Choose them again on "
    "the Integrated Customer Billing tab."
)


@dataclass
class Outcome:
    """What one service of a batch comes to: OK with its units, MAPPING_INCOMPLETE, or
    ERROR with a message (the units are kept)."""

    status: str  # SyncStatus.OK, MAPPING_INCOMPLETE or ERROR
    units: Decimal | None = None
    message: str = ""
    retry_after: float | None = None
    # OK only: which organizations made the number, for the history row of a change.
    # Kept as references into the batch's usage; the row's JSON is built only when the
    # units really change (most nights, most services do not).
    module_code: str = ""
    billing_type: str = ""
    organization_ids: list[str] = field(default_factory=list)
    quantities: list[Decimal] = field(default_factory=list)  # one per organization
    usage: UsageResult | None = None

    def detail(self, isoformat: Callable[[datetime], str] = datetime.isoformat) -> dict:
        """The JSON detail of the history row of a change."""
        key = self.billing_type
        measured = self.usage.measured_at if self.usage else {}
        return {
            "module": self.module_code,
            "billing_type": key,
            "quantities": dict(zip(self.organization_ids, map(str, self.quantities), strict=True)),
            "measured_at": {
                o: isoformat(measured[(o, key)])
                for o in self.organization_ids
                if (o, key) in measured
            },
        }

    def detail_json(self, isoformat: Callable[[datetime], str] = datetime.isoformat) -> str:
        """json.dumps(self.detail()), the same text, built directly: a night where every
        unit changes makes one per service, and the dicts and the encoder's walk over them
        cost more than the rest of the row. Only the ids and codes need JSON quoting; the
        quantities (finite decimals) and times are plain ASCII."""
        key = self.billing_type
        measured = self.usage.measured_at if self.usage else {}
        ids = list(map(_quoted, self.organization_ids))
        quantities = ", ".join([f'{i}: "{q}"' for i, q in zip(ids, self.quantities, strict=True)])
        times = ", ".join(
            [
                f'{i}: "{isoformat(at)}"'
                for i, o in zip(ids, self.organization_ids, strict=True)
                if (at := measured.get((o, key))) is not None
            ]
        )
        return (
            f'{{"module": {_quoted(self.module_code)}, "billing_type": {_quoted(key)}, '
            f'"quantities": {{{quantities}}}, "measured_at": {{{times}}}}}'
        )


@dataclass
class HubRead:
    """One module's hub read for a batch, and the services waiting for it."""

    module_code: str
    organization_ids: list[str]
    billing_types: list[str]
    services: list[tuple[int, list[str], str]]  # (service id, its organizations, billing type)


@dataclass
class Plan:
    """A batch as read from the database, before the hub is asked."""

    batch: Batch
    outcomes: dict[int, Outcome]  # filled for services decided without the hub
    reads: list[HubRead]
    errors: list[dict] = field(default_factory=list)  # for the run: per module and message


def plan_batch(company: Company, batch: Batch) -> Plan:
    """Read a batch's services and their mappings; decide the services that need no hub
    read (module gone, nothing mapped) and list what to read for the others."""
    claimed = batch.services(company.pk)
    plan = Plan(batch, outcomes={}, reads=[])
    by_module: dict[int | None, list[Any]] = defaultdict(list)
    for row in claimed.order_by().values(
        "id",
        "contract__account_id",
        "icb_module_id",
        "icb_module__code",
        "icb_billing_type_id",
        "icb_billing_type__code",
        "icb_billing_type__module_id",
    ):
        by_module[row["icb_module_id"]].append(row)
    for module_id, rows in by_module.items():
        usable = []
        for row in rows:
            if (
                module_id is None
                or row["icb_billing_type_id"] is None
                or row["icb_billing_type__module_id"] != module_id
            ):
                plan.outcomes[row["id"]] = Outcome(SyncStatus.ERROR, message=MODULE_GONE_MESSAGE)
            else:
                usable.append(row)
        if not usable or module_id is None:
            continue
        # The accounts come from a subquery over the claimed services: the database joins
        # them, rather than this process sending a list of up to BATCH_SIZE account ids.
        orgs_of: dict[int, list[str]] = defaultdict(list)
        for account_id, external_id in (
            Mapping.objects.filter(
                company=company,
                module_id=module_id,
                account_id__in=claimed.values("contract__account_id"),
            )
            .order_by("organization__external_id")
            .values_list("account_id", "organization__external_id")
        ):
            orgs_of[account_id].append(external_id)
        services = []
        for row in usable:
            organizations = orgs_of.get(row["contract__account_id"])
            if organizations:
                services.append((row["id"], organizations, row["icb_billing_type__code"]))
            else:
                plan.outcomes[row["id"]] = Outcome(
                    SyncStatus.MAPPING_INCOMPLETE, message=MAPPING_INCOMPLETE_MESSAGE
                )
        if services:
            plan.reads.append(
                HubRead(
                    module_code=usable[0]["icb_module__code"],
                    organization_ids=sorted({o for _, orgs, _ in services for o in orgs}),
                    billing_types=sorted({kind for _, _, kind in services}),
                    services=services,
                )
            )
    return plan


def apply_usage(
    company: Company, plan: Plan, read: HubRead, get_usage: Callable[[], UsageResult]
) -> None:
    """Fill the outcomes of one read's services from its usage (`get_usage` answers it or
    raises), or from its failure: every service gets a visible outcome."""
    module_code = read.module_code
    try:
        usage = get_usage()
    except HubError as exc:
        message = f"{exc.message}; {KEPT_TRY_AGAIN}" if exc.code == "deadline" else exc.message
        _fail_read(plan, read, message, retry_after=exc.retry_after)
        return
    except Exception:  # never leave a service without a visible outcome
        log.exception("Usage read of %s for company %s failed", module_code, company.pk)
        _fail_read(
            plan,
            read,
            f"Reading usage from {settings.ICB_HUB_NAME} failed unexpectedly; it will be retried.",
        )
        return
    failures = []
    for service_id, organizations, billing_type in read.services:
        outcome = plan.outcomes[service_id] = compute_units(
            organizations, billing_type, usage, module_code=module_code
        )
        if outcome.status == SyncStatus.ERROR:
            failures.append(outcome.message)
    if failures:
        plan.errors.append(
            {
                "module": module_code,
                "services": len(failures),
                "message": f"{len(failures)} service(s) had incomplete or unusable usage; "
                f"the first: {failures[0]}",
            }
        )


def _fail_read(plan: Plan, read: HubRead, message: str, retry_after: float | None = None) -> None:
    for service_id, _, _ in read.services:
        plan.outcomes[service_id] = Outcome(
            SyncStatus.ERROR, message=message[:500], retry_after=retry_after
        )
    plan.errors.append(
        {"module": read.module_code, "message": message, "services": len(read.services)}
    )


def compute_units(
    organization_ids: list[str], billing_type: str, usage: UsageResult, *, module_code: str = ""
) -> Outcome:
    """The sum of each mapped organization's own quantity, or an error that keeps the
    units when any quantity is unusable or missing, or the sum cannot be stored."""
    hub = settings.ICB_HUB_NAME
    reported = usage.quantities
    if usage.unusable:  # rows the hub sent that could not be read: only their services fail
        for o in organization_ids:
            reason = usage.unusable.get((o, billing_type))
            if reason is not None:
                return Outcome(
                    SyncStatus.ERROR,
                    message=(
                        f"{hub} reported an unusable quantity for organization {o} "
                        f"({reason}); units were kept."
                    ),
                )
    try:
        quantities = [reported[(o, billing_type)] for o in organization_ids]
        missing = [o for o in organization_ids if o in usage.missing] if usage.missing else []
    except KeyError:
        missing = [
            o for o in organization_ids if (o, billing_type) not in reported or o in usage.missing
        ]
    if missing:
        shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
        return Outcome(
            SyncStatus.ERROR,
            message=(
                f"{hub} did not report {billing_type} for organization(s) {shown} (removed from "
                "the module, or a partial answer). Units were kept; check the mapping."
            ),
        )
    try:
        total = sum(quantities, Decimal(0))
        if not total.is_finite() or total < 0 or total >= UNITS_LIMIT:
            raise ArithmeticError
        units = to_cents(total)
        if units >= UNITS_LIMIT:
            raise ArithmeticError
    except ArithmeticError:
        return Outcome(
            SyncStatus.ERROR,
            message=(
                f"{hub} reported a quantity that cannot be stored as units (negative or more "
                f"than {MAX_DIGITS - DECIMAL_PLACES} digits). Units were kept."
            ),
        )
    return Outcome(
        SyncStatus.OK,
        units=units,
        module_code=module_code,
        billing_type=billing_type,
        organization_ids=organization_ids,
        quantities=quantities,
        usage=usage,
    )
