from django import template

from icb.tenancy.permissions import allows

register = template.Library()


@register.filter
def role_level(role, area):
    return role.level(area)


@register.simple_tag(takes_context=True)
def can(context, area, level):
    """{% can "contracts" "modify" as can_edit %}: the same check the views use."""
    return allows(context["request"].user, area, level)
