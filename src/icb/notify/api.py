"""API: webhook endpoints (list, add, delete). The secret is answered once, by the add."""

from datetime import datetime

from ninja import Field, Router, Schema, Status

from icb.events.types import EventType
from icb.tenancy.models import Area, Level
from icb.tenancy.permissions import require

from . import selectors, services
from .models import WebhookEndpoint

router = Router(tags=["webhooks"])


class WebhookIn(Schema):
    url: str = Field(max_length=500, description="http:// or https://, a public address")
    events: list[EventType] = Field(min_length=1, description="The event types to send")
    description: str = Field("", max_length=200)


class WebhookOut(Schema):
    id: int
    url: str
    description: str
    events: list[str]
    enabled: bool
    disabled_reason: str
    created_at: datetime
    last_success_at: datetime | None
    last_failure_at: datetime | None


class WebhookCreated(WebhookOut):
    secret: str = Field(
        description='The signing secret ("whsec_…", Standard Webhooks); shown only here'
    )


def _out(endpoint: WebhookEndpoint) -> dict:
    return {
        "id": endpoint.pk,
        "url": endpoint.url,
        "description": endpoint.description,
        "events": endpoint.event_types,
        "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason,
        "created_at": endpoint.created_at,
        "last_success_at": endpoint.last_success_at,
        "last_failure_at": endpoint.last_failure_at,
    }


@router.get("/webhooks", response=list[WebhookOut])
def webhook_list(request):
    """The company's webhook endpoints (docs/webhooks.md)."""
    require(request.user, Area.SECURITY, Level.VIEW)
    return [_out(e) for e in selectors.endpoint_list(company=request.company)]


@router.post("/webhooks", response={201: WebhookCreated})
def webhook_create(request, payload: WebhookIn):
    """Add an endpoint; the answer carries its signing secret, which is never shown again."""
    require(request.user, Area.SECURITY, Level.MODIFY)
    endpoint, secret = services.endpoint_create(
        company=request.company,
        actor=request.user,
        url=payload.url,
        event_types=list(payload.events),
        description=payload.description,
    )
    return Status(201, {**_out(endpoint), "secret": secret})


@router.delete("/webhooks/{webhook_id}", response={204: None})
def webhook_delete(request, webhook_id: int):
    """Remove an endpoint with its delivery log."""
    require(request.user, Area.SECURITY, Level.MODIFY)
    endpoint = selectors.endpoint_get(company=request.company, endpoint_id=webhook_id)
    services.endpoint_delete(company=request.company, endpoint_id=endpoint.pk)
    return Status(204, None)
