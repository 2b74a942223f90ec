"""Admin › Integrations › Webhooks (endpoints, the secret once, the delivery log, a test
event) and the digest choice on the user's profile."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from icb.common.errors import ServiceError
from icb.common.forms import apply_errors
from icb.tenancy.models import Area, Level
from icb.tenancy.permissions import allows, area_required

from . import selectors, services
from .forms import WebhookForm


@area_required(Area.SECURITY)
def webhook_list(request):
    form = WebhookForm(request.POST or None)
    new_secret, new_endpoint = None, None
    if request.method == "POST" and form.is_valid():
        try:
            new_endpoint, new_secret = services.endpoint_create(
                company=request.company,
                actor=request.user,
                url=form.cleaned_data["url"],
                event_types=form.cleaned_data["events"],
                description=form.cleaned_data["description"],
            )
        except ServiceError as exc:
            apply_errors(form, exc)
        else:
            form = WebhookForm()
    return render(
        request,
        "notify/webhook_list.html",
        {
            "endpoints": selectors.endpoint_list(company=request.company),
            "form": form,
            "new_secret": new_secret,
            "new_endpoint": new_endpoint,
            "can_modify": allows(request.user, Area.SECURITY, Level.MODIFY),
            "show_form": request.method == "POST" and new_secret is None,
        },
    )


@area_required(Area.SECURITY)
def webhook_detail(request, webhook_id):
    endpoint = selectors.endpoint_get(company=request.company, endpoint_id=webhook_id)
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "test":
                delivery = services.send_test_event(
                    company=request.company, endpoint_id=endpoint.pk
                )
                if delivery.status == "delivered":
                    messages.success(request, "Test event delivered.")
                else:
                    messages.error(
                        request,
                        "The test event was not accepted; see the log below. It will be retried.",
                    )
            elif action in ("enable", "disable"):
                services.endpoint_enable(
                    company=request.company, endpoint_id=endpoint.pk, enabled=action == "enable"
                )
                messages.success(request, f"Webhook {action}d.")
            elif action == "delete":
                services.endpoint_delete(company=request.company, endpoint_id=endpoint.pk)
                messages.success(request, f"Webhook {endpoint.url} deleted.")
                return redirect("notify:webhooks")
            else:
                messages.error(request, "Unknown action.")
        except ServiceError as exc:
            messages.error(request, exc.message)
        return redirect("notify:webhook_detail", webhook_id=endpoint.pk)
    return render(
        request,
        "notify/webhook_detail.html",
        {
            "endpoint": endpoint,
            "deliveries": selectors.delivery_log(endpoint=endpoint),
            "attempts_allowed": settings.ICB_WEBHOOK_ATTEMPTS,
            "can_modify": allows(request.user, Area.SECURITY, Level.MODIFY),
        },
    )


@login_required
@require_POST
def digest_choice(request):
    """The profile's digest checkbox (its section: {% digest_preference %})."""
    subscribed = request.POST.get("digest") == "on"
    try:
        services.digest_subscribe(user=request.user, subscribed=subscribed)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            "You will get the nightly digest by email."
            if subscribed
            else "You will no longer get the nightly digest.",
        )
    return redirect("tenancy:profile")
