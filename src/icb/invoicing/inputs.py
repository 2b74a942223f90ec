"""The billing rules' inputs and what an invoice billed, as the JSON an invoice keeps
(InvoiceContract.inputs and .billed): recomputing a final invoice from them gives the
same cents (docs/billing-rules.md, "Recomputing an invoice"). Pure: no database."""

import datetime
from collections.abc import Mapping
from decimal import Decimal

from .periods import Period
from .rules import BillingTerms, InvoiceFigures, ServiceTimeline, Steps, compute_invoice

Invoiced = dict[Period, dict[int, Steps]]


def _day(text: str) -> datetime.date:
    return datetime.date.fromisoformat(text)


def steps_to_json(steps: Steps) -> list[list[str]]:
    return [[day.isoformat(), str(units)] for day, units in steps]


def steps_from_json(rows) -> Steps:
    return tuple((_day(day), Decimal(units)) for day, units in rows)


def billed_to_json(billed: Mapping[tuple[int, Period], Steps]) -> list:
    return [
        [service_id, period.start.isoformat(), period.end.isoformat(), steps_to_json(steps)]
        for (service_id, period), steps in sorted(billed.items(), key=lambda i: (i[0][1], i[0][0]))
    ]


def billed_from_json(rows) -> dict[tuple[int, Period], Steps]:
    return {
        (service_id, Period(_day(start), _day(end))): steps_from_json(steps)
        for service_id, start, end, steps in rows
    }


def invoiced_from_billed(billed_rows: list[list]) -> Invoiced:
    """The `invoiced` argument of the rules from the billed records of a contract's final
    invoices, oldest first: a later invoice's record of a period wins (it re-billed the
    period with its adjustments)."""
    invoiced: Invoiced = {}
    for rows in billed_rows:
        for (service_id, period), steps in billed_from_json(rows).items():
            invoiced.setdefault(period, {})[service_id] = steps
    return invoiced


def inputs_to_json(
    *,
    terms: BillingTerms,
    period: Period,
    services: list[ServiceTimeline],
    invoiced: Invoiced,
    today: datetime.date,
) -> dict:
    return {
        "terms": {
            "frequency": terms.frequency,
            "timing": terms.timing,
            "proration": terms.proration,
            "contract_start": terms.contract_start.isoformat(),
            "contract_end": terms.contract_end.isoformat() if terms.contract_end else None,
            "currency": terms.currency,
            "tax_rate": str(terms.tax_rate),
        },
        "period": [period.start.isoformat(), period.end.isoformat()],
        "services": [
            {
                "id": s.service_id,
                "name": s.name,
                "unit_price": str(s.unit_price),
                "start_date": s.start_date.isoformat(),
                "end_date": s.end_date.isoformat() if s.end_date else None,
                "changes": [[day.isoformat(), str(units)] for day, units in s.changes],
            }
            for s in services
        ],
        "invoiced": [
            [
                p.start.isoformat(),
                p.end.isoformat(),
                [[sid, steps_to_json(st)] for sid, st in by.items()],
            ]
            for p, by in sorted(invoiced.items())
        ],
        "today": today.isoformat(),
    }


def recompute(inputs: dict) -> InvoiceFigures:
    """compute_invoice again from the recorded inputs."""
    raw = inputs["terms"]
    terms = BillingTerms(
        frequency=raw["frequency"],
        timing=raw["timing"],
        proration=raw["proration"],
        contract_start=_day(raw["contract_start"]),
        contract_end=_day(raw["contract_end"]) if raw["contract_end"] else None,
        currency=raw["currency"],
        tax_rate=Decimal(raw["tax_rate"]),
    )
    services = [
        ServiceTimeline(
            service_id=s["id"],
            name=s["name"],
            unit_price=Decimal(s["unit_price"]),
            start_date=_day(s["start_date"]),
            end_date=_day(s["end_date"]) if s["end_date"] else None,
            changes=[(_day(day), Decimal(units)) for day, units in s["changes"]],
        )
        for s in inputs["services"]
    ]
    invoiced = {
        Period(_day(start), _day(end)): {sid: steps_from_json(st) for sid, st in by}
        for start, end, by in inputs["invoiced"]
    }
    start, end = inputs["period"]
    return compute_invoice(
        terms=terms,
        period=Period(_day(start), _day(end)),
        services=services,
        invoiced=invoiced,
        today=_day(inputs["today"]),
    )
