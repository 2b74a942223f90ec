"""Billing periods: calendar months, quarters or years aligned on a contract's start
month. Pure date arithmetic (dates are days in the company's time zone)."""

import datetime
from dataclasses import dataclass

MONTHS_PER_PERIOD = {"monthly": 1, "quarterly": 3, "yearly": 12}
MONTH_NAMES = (
    "January February March April May June July August September October November December"
).split()


@dataclass(frozen=True, order=True)
class Period:
    """The days from `start` to `end`, both included."""

    start: datetime.date
    end: datetime.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def __contains__(self, day: object) -> bool:
        return isinstance(day, datetime.date) and self.start <= day <= self.end

    @property
    def label(self) -> str:
        """ "November 2026", "October – December 2026", "2026-10-01 – 2027-09-30"."""
        if self.start.year == self.end.year and self.start.month == self.end.month:
            return f"{MONTH_NAMES[self.start.month - 1]} {self.start.year}"
        if self.start.year == self.end.year:
            first, last = MONTH_NAMES[self.start.month - 1], MONTH_NAMES[self.end.month - 1]
            return f"{first} – {last} {self.start.year}"
        return f"{self.start.isoformat()} – {self.end.isoformat()}"


def _add_months(day: datetime.date, months: int) -> datetime.date:
    """The first of the month `months` after `day`'s month."""
    index = day.year * 12 + day.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


def period_containing(
    *, frequency: str, contract_start: datetime.date, day: datetime.date
) -> Period:
    """The period of a contract that holds `day`. Periods start on the first of the
    contract's start month and every 1, 3 or 12 months from it (also before it, so a day
    before the contract still has a period)."""
    length = MONTHS_PER_PERIOD[frequency]
    months_since = (day.year - contract_start.year) * 12 + day.month - contract_start.month
    start = _add_months(contract_start.replace(day=1), (months_since // length) * length)
    return Period(start, _add_months(start, length) - datetime.timedelta(days=1))


def next_period(period: Period, *, frequency: str) -> Period:
    start = period.end + datetime.timedelta(days=1)
    return Period(
        start, _add_months(start, MONTHS_PER_PERIOD[frequency]) - datetime.timedelta(days=1)
    )
