"""Mapping sections that other apps' pages show; mapping renders them itself, so the
pages' apps need not import mapping."""

from django import template

from ..views import account_section

register = template.Library()


@register.inclusion_tag("mapping/_account_section.html", takes_context=True)
def mapping_section(context, account):
    """{% mapping_section account %}: the account's ITC Integrations Mapping section (on
    the CRM account page)."""
    return {
        **context.flatten(),
        "account": account,
        "section": account_section(context["request"], account),
    }
