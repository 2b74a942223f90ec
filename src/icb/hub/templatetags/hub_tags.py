"""The hub's sections of other apps' pages (`{% load hub_tags %}`):

{% hub_banner %}   a banner while the company's hub connection is broken (the hub
                   refused its tokens), with the reason and the way to the hub page;
                   nothing otherwise
"""

from django import template

from icb.hub import services
from icb.hub.models import HubConnection, HubState

register = template.Library()


def page_connection(request) -> HubConnection | None:
    """The company's hub connection, read once per request: the banner, the service
    window's panel and its tab all ask for it on one page."""
    if not hasattr(request, "_icb_hub_connection"):
        company = getattr(request, "company", None)
        request._icb_hub_connection = (
            services.connection_of(company) if company is not None else None
        )
    return request._icb_hub_connection


@register.inclusion_tag("hub/_banner.html", takes_context=True)
def hub_banner(context) -> dict:
    # Inside another inclusion tag's template the context holds only what that tag gave
    # it; the request stays on the context object itself.
    request = getattr(context, "request", None) or context.get("request")
    connection = page_connection(request) if request is not None else None
    if connection is None or connection.state != HubState.BROKEN:
        return {"connection": None}
    return {
        "connection": connection,
        "hub_name": services.hub_name(),
        "is_admin": request.user.is_administrator,
    }
