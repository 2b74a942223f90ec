"""Admin > Integrations > Hub: the connect switch, the OAuth callback, status, refresh."""

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from icb import demo
from icb.common.errors import ServiceError
from icb.tenancy.permissions import administrator_required

from . import selectors, services
from .errors import HubError
from .models import HubState

SESSION_KEY = "hub_connect_pending"
SUCCESS = "Operation is completed successfully."


def _map_demo(request) -> None:
    """The demo company's first directory read makes the demo's mappings (icb/demo.py)."""
    mapped = demo.map_demo_organizations(company=request.company, user=request.user)
    if mapped:
        messages.info(
            request,
            f"Demo: mapped {mapped} organizations to the demo accounts they belong to. "
            "The other demo accounts are left for you to map.",
        )


def _redirect_uri(request) -> str:
    return settings.ICB_HUB_REDIRECT_URI or request.build_absolute_uri(reverse("hub:callback"))


@administrator_required
def hub_page(request):
    connection = services.connection_of(request.company)
    broken = connection is not None and connection.state == HubState.BROKEN
    modules = selectors.module_list(company=request.company) if connection else []
    counts = selectors.organization_counts(company=request.company) if connection else {}
    return render(
        request,
        "hub/hub.html",
        {
            "connection": connection,
            "broken": broken,
            "modules": modules,
            "counts": counts,
            "hub_name": services.hub_name(),
            "hub_url": settings.ICB_HUB_URL,
        },
    )


@require_POST
@administrator_required
def connect(request):
    try:
        url, pending = services.start_connect(
            user=request.user, redirect_uri=_redirect_uri(request)
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("hub:page")
    request.session[SESSION_KEY] = pending
    return redirect(url)


@administrator_required
def callback(request):
    # The pending sign-in is used once: a replayed callback finds nothing.
    pending = request.session.pop(SESSION_KEY, None)
    reconnect = services.state_of(request.company) == HubState.BROKEN
    try:
        services.complete_connect(user=request.user, pending=pending, params=request.GET.dict())
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("hub:page")
    if reconnect:
        messages.success(
            request,
            f"Reconnected to {services.hub_name()}. Your mappings are kept, and the services "
            "that waited for it sync again automatically.",
        )
    else:
        messages.success(request, SUCCESS)
    try:
        services.refresh_directory(company=request.company)
    except (HubError, ServiceError) as exc:
        messages.warning(
            request,
            f"Connected, but reading the modules failed: {exc.message} Use Refresh to try again.",
        )
    else:
        _map_demo(request)
    return redirect("hub:page")


@require_POST
@administrator_required
def disconnect(request):
    if services.disconnect(company=request.company):
        messages.success(request, f"Disconnected from {services.hub_name()}.")
    return redirect("hub:page")


@require_POST
@administrator_required
def refresh(request):
    try:
        counts = services.refresh_directory(company=request.company)
    except (HubError, ServiceError) as exc:
        messages.error(request, f"Refresh failed: {exc.message} The previous directory is kept.")
    else:
        total = sum(c["organizations"] for c in counts.values())
        messages.success(request, f"Read {len(counts)} modules and {total} organizations.")
        _map_demo(request)
    return redirect("hub:page")
