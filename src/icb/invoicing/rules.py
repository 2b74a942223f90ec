"""The billing rules (docs/billing-rules.md): from a contract's billing terms, its
services' unit timelines and what earlier invoices billed, the lines of the invoice for
one period. Pure: no database, no clock; every input is an argument, so an invoice can
be recomputed from its recorded inputs to the same cents.

A *profile* is a service's units on each day of a period. An invoice bills a profile
(in advance: the units of the period's first day for the whole period; in arrears: the
days as they were); later invoices bill the difference between what an earlier invoiced
period really had and what was billed for it, as adjustment lines.
"""

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from icb.common.money import to_minor_unit

from .periods import Period, period_containing

ZERO = Decimal("0")
HUNDRED = Decimal("100")
ONE_DAY = datetime.timedelta(days=1)

ADVANCE, ARREARS = "advance", "arrears"
DAILY, NONE = "daily", "none"

# Steps of a profile: (first day, units) pairs in day order; each holds until the next.
Steps = tuple[tuple[datetime.date, Decimal], ...]


class RuleError(ValueError):
    """The inputs break a rule (a change before the contract's start, a period not yet
    ended in arrears, a period invoiced twice)."""


@dataclass(frozen=True)
class BillingTerms:
    """A contract's effective billing settings (company defaults already applied)."""

    frequency: str  # monthly, quarterly or yearly
    timing: str  # advance or arrears
    proration: str  # daily or none
    contract_start: datetime.date
    contract_end: datetime.date | None
    currency: str
    tax_rate: Decimal  # percent: Decimal("8.25")


@dataclass(frozen=True)
class ServiceTimeline:
    """A service's price, active dates and unit changes [(effective date, units), …] in
    the order they were recorded (of several changes on one day, the last recorded
    counts). The first change's units hold from the service's start."""

    service_id: int
    name: str
    unit_price: Decimal
    start_date: datetime.date
    end_date: datetime.date | None
    changes: Sequence[tuple[datetime.date, Decimal]]


@dataclass(frozen=True)
class Line:
    service_id: int
    kind: str  # period, stretch or adjustment
    description: str  # the service's name
    period: Period  # the period the line bills (an earlier one for an adjustment)
    start: datetime.date  # the first day the line counts
    end: datetime.date
    quantity: Decimal  # units; for an adjustment the change in units (may be negative)
    unit_price: Decimal
    days: int
    days_in_period: int
    amount: Decimal  # quantity × unit price × days / days in period, rounded once
    tax: Decimal  # amount × tax rate, rounded once
    explanation: str


@dataclass(frozen=True)
class InvoiceFigures:
    period: Period
    currency: str
    lines: list[Line]
    # What this invoice leaves billed, per (service, period): pass it back as `invoiced`
    # to the later invoices once this one is final.
    billed: dict[tuple[int, Period], Steps] = field(default_factory=dict)

    @property
    def subtotal(self) -> Decimal:
        return sum((line.amount for line in self.lines), ZERO)

    @property
    def tax(self) -> Decimal:
        return sum((line.tax for line in self.lines), ZERO)

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.tax


# --- timelines and profiles ------------------------------------------------------------


def check_timeline(terms: BillingTerms, service: ServiceTimeline) -> None:
    for effective, units in service.changes:
        if effective < terms.contract_start:
            raise RuleError(
                f"{service.name}: a change effective {effective.isoformat()} is before the "
                f"contract's start ({terms.contract_start.isoformat()})."
            )
        if units < 0:
            raise RuleError(f"{service.name}: units cannot be negative.")
    if service.end_date and service.end_date < service.start_date:
        raise RuleError(f"{service.name}: the end date is before the start date.")


def _active(terms: BillingTerms, service: ServiceTimeline, day: datetime.date) -> bool:
    ends = [d for d in (service.end_date, terms.contract_end) if d is not None]
    return max(service.start_date, terms.contract_start) <= day and all(day <= d for d in ends)


def units_on(terms: BillingTerms, service: ServiceTimeline, day: datetime.date) -> Decimal:
    """The service's units on `day`: 0 outside its (and its contract's) active days."""
    if not _active(terms, service, day) or not service.changes:
        return ZERO
    # sorted() is stable: of several changes on one day the last recorded wins.
    ordered = sorted(service.changes, key=lambda change: change[0])
    units = ordered[0][1]
    for effective, new_units in ordered:
        if effective > day:
            break
        units = new_units
    return units


def actual_profile(terms: BillingTerms, service: ServiceTimeline, period: Period) -> list[Decimal]:
    """The units of each day of `period` as they really were (with proration `none`:
    those of the period's first day, for every day)."""
    if terms.proration == NONE:
        return [units_on(terms, service, period.start)] * period.days
    # units_on for every day, with the changes sorted once (a run computes this for
    # every service of every invoiced period).
    ordered = sorted(service.changes, key=lambda change: change[0])
    if not ordered:
        return [ZERO] * period.days
    profile = []
    index, units = 0, ordered[0][1]
    for day in _days(period):
        while index < len(ordered) and ordered[index][0] <= day:
            units = ordered[index][1]
            index += 1
        profile.append(units if _active(terms, service, day) else ZERO)
    return profile


def advance_profile(terms: BillingTerms, service: ServiceTimeline, period: Period) -> list[Decimal]:
    """What an invoice in advance bills: the units of the period's first day (or of the
    service's first day in it) on every day the service is active in the period."""
    if terms.proration == NONE:
        return actual_profile(terms, service, period)
    active = [_active(terms, service, day) for day in _days(period)]
    if not any(active):
        return [ZERO] * period.days
    first = period.start + active.index(True) * ONE_DAY
    units = units_on(terms, service, first)
    return [units if on else ZERO for on in active]


def to_steps(period: Period, profile: list[Decimal]) -> Steps:
    steps: list[tuple[datetime.date, Decimal]] = []
    for offset, units in enumerate(profile):
        if not steps or steps[-1][1] != units:
            steps.append((period.start + offset * ONE_DAY, units))
    return tuple(steps)


def from_steps(period: Period, steps: Steps) -> list[Decimal]:
    profile = [ZERO] * period.days
    for index, (first, units) in enumerate(steps):
        last = steps[index + 1][0] if index + 1 < len(steps) else period.end + ONE_DAY
        for offset in range((first - period.start).days, (last - period.start).days):
            profile[offset] = units
    return profile


def _days(period: Period) -> list[datetime.date]:
    return [period.start + offset * ONE_DAY for offset in range(period.days)]


# --- lines -----------------------------------------------------------------------------


def _line(
    terms: BillingTerms,
    service: ServiceTimeline,
    *,
    kind: str,
    period: Period,
    start: datetime.date,
    end: datetime.date,
    quantity: Decimal,
) -> Line:
    days = (end - start).days + 1
    amount = to_minor_unit(quantity * service.unit_price * days / period.days, terms.currency)
    tax = to_minor_unit(amount * terms.tax_rate / HUNDRED, terms.currency)
    price = f"{service.unit_price:.2f}"
    share = f"{days}/{period.days} days"
    if kind == "adjustment":
        explanation = (
            f"Adjustment for {period.label}: {quantity:+.2f} units from {start.isoformat()}, "
            f"× {price} × {share}"
        )
    elif days == period.days:
        explanation = f"{quantity:.2f} units × {price} for {period.label}"
    else:
        explanation = (
            f"{quantity:.2f} units × {price} × {share}, {start.isoformat()} – "
            f"{end.isoformat()} ({period.label})"
        )
    return Line(
        service_id=service.service_id,
        kind=kind,
        description=service.name,
        period=period,
        start=start,
        end=end,
        quantity=quantity,
        unit_price=service.unit_price,
        days=days,
        days_in_period=period.days,
        amount=amount,
        tax=tax,
        explanation=explanation,
    )


def stretch_lines(
    terms: BillingTerms, service: ServiceTimeline, period: Period, profile: list[Decimal], kind: str
) -> list[Line]:
    """One line per stretch of constant units (days with no units bill nothing)."""
    lines = []
    steps = to_steps(period, profile)
    for index, (first, units) in enumerate(steps):
        last = steps[index + 1][0] - ONE_DAY if index + 1 < len(steps) else period.end
        if units:
            lines.append(
                _line(
                    terms, service, kind=kind, period=period, start=first, end=last, quantity=units
                )
            )
    return lines


def adjustment_lines(
    terms: BillingTerms,
    service: ServiceTimeline,
    period: Period,
    billed: list[Decimal],
    actual: list[Decimal],
) -> list[Line]:
    """One line per day the difference between actual and billed units changes: Δ units ×
    price × (days from that day to the period's end, both included) / days in period."""
    lines = []
    previous = ZERO
    for offset, (was, really) in enumerate(zip(billed, actual, strict=True)):
        difference = really - was
        if difference != previous:
            day = period.start + offset * ONE_DAY
            lines.append(
                _line(
                    terms,
                    service,
                    kind="adjustment",
                    period=period,
                    start=day,
                    end=period.end,
                    quantity=difference - previous,
                )
            )
            previous = difference
    return lines


def compute_invoice(
    *,
    terms: BillingTerms,
    period: Period,
    services: Sequence[ServiceTimeline],
    invoiced: Mapping[Period, Mapping[int, Steps]],
    today: datetime.date,
) -> InvoiceFigures:
    """The lines of the contract's invoice for `period`. `invoiced` holds, per period
    already invoiced (final), the units billed per service (an absent service: none)."""
    expected = period_containing(
        frequency=terms.frequency, contract_start=terms.contract_start, day=period.start
    )
    if expected != period:
        raise RuleError(f"{period.label} is not a billing period of this contract.")
    if period in invoiced:
        raise RuleError(f"{period.label} is already invoiced.")
    if terms.timing == ARREARS and today <= period.end:
        raise RuleError(
            f"{period.label} is billed in arrears: it can be invoiced once it has ended."
        )
    earlier = sorted(q for q in invoiced if q.start < period.start)
    lines: list[Line] = []
    billed: dict[tuple[int, Period], Steps] = {}
    for service in services:
        check_timeline(terms, service)
        for past in earlier:
            was = from_steps(past, invoiced[past].get(service.service_id, ()))
            really = actual_profile(terms, service, past)
            lines.extend(adjustment_lines(terms, service, past, was, really))
            billed[(service.service_id, past)] = to_steps(past, really)
        if terms.timing == ADVANCE:
            profile = advance_profile(terms, service, period)
            lines.extend(stretch_lines(terms, service, period, profile, "period"))
        else:
            profile = actual_profile(terms, service, period)
            lines.extend(stretch_lines(terms, service, period, profile, "stretch"))
        billed[(service.service_id, period)] = to_steps(period, profile)
    return InvoiceFigures(period=period, currency=terms.currency, lines=lines, billed=billed)
