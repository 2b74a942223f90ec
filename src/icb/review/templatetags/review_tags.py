"""Billing review's sections of other pages, and the small pieces of its own:

{% held_changes_of services as held %}     the pending held change of each service
                                           (one query for a contract's table)
{% held_change_note service held %}        "Change held for review: 50 → 0 (drop to
                                           zero)" with a link to it, or nothing
{% units_strip values %}                   a service's units over time, a small SVG
"""

from decimal import Decimal

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from icb.contracts.models import Service
from icb.tenancy.models import Area, Level
from icb.tenancy.permissions import allows

from .. import selectors

register = template.Library()

STRIP_WIDTH, STRIP_HEIGHT = 96, 24


@register.simple_tag(takes_context=True)
def held_changes_of(context, services) -> dict:
    services = [s for s in services if s.is_icb]
    if not services:
        return {}
    return selectors.pending_for_services(
        company=context["request"].company, service_ids=[s.pk for s in services]
    )


@register.inclusion_tag("review/_held_note.html", takes_context=True)
def held_change_note(context, service: Service, held=None, compact: bool = False) -> dict:
    """The note of a service's pending held change; `held`: the map of
    held_changes_of (none given: read for this one service)."""
    if isinstance(held, dict):
        change = held.get(service.pk)
    elif service.is_icb:
        change = selectors.pending_for_services(
            company=context["request"].company, service_ids=[service.pk]
        ).get(service.pk)
    else:
        change = None
    request = context["request"]
    return {
        "held": change,
        "compact": compact,
        "link": (
            reverse("review:page") + f"?service_id={service.pk}"
            if change and allows(request.user, Area.BILLING_REVIEW, Level.VIEW)
            else ""
        ),
    }


@register.simple_tag
def units_strip(values, proposed=None) -> str:
    """The units over the last changes as a small line (oldest left), and the held
    proposal as a dashed step to a hollow point; nothing for fewer than two points."""
    history = [Decimal(v) for v in values or []]
    points_of = history + ([Decimal(proposed)] if proposed is not None else [])
    if len(points_of) < 2:
        return ""
    low, high = min(points_of), max(points_of)
    span = (high - low) or Decimal(1)
    step = Decimal(STRIP_WIDTH - 6) / (len(points_of) - 1)
    points = [
        (
            f"{float(3 + step * i):.1f}",
            f"{float(STRIP_HEIGHT - 3 - (v - low) / span * (STRIP_HEIGHT - 6)):.1f}",
        )
        for i, v in enumerate(points_of)
    ]
    solid = points[: len(history)] if proposed is not None else points
    label = "Units over the last changes: " + " → ".join(str(v) for v in history)
    if proposed is not None:
        label += f"; held: {Decimal(proposed)}"
    parts = [
        format_html(
            '<polyline points="{}" fill="none" stroke="currentColor" stroke-width="1.5"/>',
            " ".join(f"{x},{y}" for x, y in solid),
        )
        if len(solid) > 1
        else "",
        format_html('<circle cx="{}" cy="{}" r="2.5"/>', *solid[-1]) if solid else "",
    ]
    if proposed is not None:
        (x0, y0), (x1, y1) = points[-2], points[-1]
        parts.append(
            format_html(
                '<line x1="{}" y1="{}" x2="{}" y2="{}" class="held-step"/>'
                '<circle cx="{}" cy="{}" r="2.5" class="held-point"/>',
                x0,
                y0,
                x1,
                y1,
                x1,
                y1,
            )
        )
    return format_html(
        '<svg class="units-strip" width="{}" height="{}" viewBox="0 0 {} {}" role="img" '
        'aria-label="{}"><title>{}</title>{}</svg>',
        STRIP_WIDTH,
        STRIP_HEIGHT,
        STRIP_WIDTH,
        STRIP_HEIGHT,
        label,
        label,
        mark_safe("".join(str(p) for p in parts)),  # noqa: S308 - each part is format_html's
    )


@register.simple_tag(takes_context=True)
def policy_field(context, section: dict, name: str) -> dict:
    """One number of a policy section: its input's name and id, value and messages (the
    service names a module's fields "modules.<code>.<field>")."""
    prefix = section["prefix"]
    errors = context.get("errors") or {}
    key = f"modules.{prefix}{name}" if prefix else name
    return {
        "name": prefix + name,
        "id": ("policy-" + prefix + name).replace(".", "-"),
        "value": section["rules"].get(name),
        "errors": errors.get(key, []),
    }


WORDS = {
    "mode": "Mode",
    "max_units": "Change of more than (units)",
    "max_percent": "Change of more than (%)",
    "hold_drop_to_zero": "Hold drops to zero",
    "hold_drop_percent": "Drop of more than (%)",
    "hold_first_sync": "Hold the first sync",
}


def _shown(value) -> str:
    if value is None:
        return "off"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


@register.simple_tag
def policy_differences(change) -> list[str]:
    """What a recorded policy change changed, one line per rule: "Mode: hold_unusual →
    hold_all", a module's prefixed with its code."""
    lines = []

    def compare(old: dict, new: dict, where: str) -> None:
        for name, words in WORDS.items():
            if old.get(name) != new.get(name):
                lines.append(f"{where}{words}: {_shown(old.get(name))} → {_shown(new.get(name))}")

    old, new = change.old or {}, change.new or {}
    compare(old, new, "")
    old_modules, new_modules = old.get("modules") or {}, new.get("modules") or {}
    for code in sorted(set(old_modules) | set(new_modules)):
        if code not in new_modules:
            lines.append(f"{code}: own rules removed")
        elif code not in old_modules:
            lines.append(f"{code}: own rules added ({new_modules[code].get('mode')})")
        else:
            compare(old_modules[code], new_modules[code], f"{code} – ")
    return lines or ["No difference"]


@register.inclusion_tag("review/_run_held.html", takes_context=True)
def run_held_changes(context, run) -> dict:
    """A sync run's held changes and what became of each (decided, withdrawn)."""
    request = context["request"]
    return {
        "held": selectors.run_held(company=request.company, run_id=run.pk),
        "request": request,
        "can_view": allows(request.user, Area.BILLING_REVIEW, Level.VIEW),
    }
