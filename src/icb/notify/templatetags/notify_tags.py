from django import template

from icb.notify import selectors

register = template.Library()


@register.inclusion_tag("notify/_digest_preference.html", takes_context=True)
def digest_preference(context):
    """The digest section of the user's profile page."""
    user = context["request"].user
    return {
        "subscribed": selectors.is_subscribed(user=user),
        "may_read": selectors.user_may_read_digest(user=user),
        "time_zone": user.company.time_zone if user.company_id else "",
        "csrf_token": context.get("csrf_token"),
    }
