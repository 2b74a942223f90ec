"""Template filters every page uses: a dict lookup, and the one way money and times are
shown (`money`, `when`). The API keeps plain decimal strings and ISO 8601 times."""

import datetime

from django import template
from django.utils import dateformat, timezone

from icb.common.money import format_money

register = template.Library()

WHEN_FORMATS = {"minutes": "Y-m-d H:i T", "seconds": "Y-m-d H:i:s T"}


@register.filter
def get_item(mapping, key):
    """{{ counts|get_item:module.id }}: a dict lookup by a variable key."""
    return mapping.get(key) if mapping else None


@register.filter
def money(amount, currency=""):
    """{{ amount|money:currency }} → "4,905.00 USD": two places, thousands grouped
    (icb.common.money.format_money). Empty for no amount, so `|default` still works."""
    return format_money(amount, currency)


@register.filter
def when(value, precision="minutes"):
    """{{ time|when }} → "2026-11-26 05:44 EST", in the company's time zone (the
    request's active zone); `|when:"seconds"` adds the seconds. A date → "2026-11-26".
    Empty for no value, so `|default:"never"` still works."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime.datetime):
        shown = timezone.localtime(value) if timezone.is_aware(value) else value
        return dateformat.format(shown, WHEN_FORMATS.get(precision, WHEN_FORMATS["minutes"]))
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value
