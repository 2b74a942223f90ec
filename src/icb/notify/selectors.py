"""Reads of webhooks, their delivery log, and the digest's recipients."""

from django.db.models import Prefetch, Q, QuerySet

from icb.common.errors import NotFound
from icb.common.validation import MAX_ID
from icb.tenancy.models import Company, Level, User

from .models import DeliveryAttempt, DigestSubscription, WebhookDelivery, WebhookEndpoint


def endpoint_list(*, company: Company) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.for_company(company).order_by("id")


def endpoint_get(*, company: Company, endpoint_id: int) -> WebhookEndpoint:
    """The company's endpoint with this id, or NotFound (also for another company's)."""
    valid = isinstance(endpoint_id, int) and 0 < endpoint_id <= MAX_ID
    endpoint = (
        WebhookEndpoint.objects.for_company(company).filter(pk=endpoint_id).first()
        if valid
        else None
    )
    if endpoint is None:
        raise NotFound("No such webhook.")
    return endpoint


def delivery_log(*, endpoint: WebhookEndpoint, limit: int = 50) -> list[WebhookDelivery]:
    """The endpoint's latest deliveries, newest first, each with its attempts."""
    return list(
        WebhookDelivery.objects.for_company(endpoint.company_id)
        .filter(endpoint=endpoint)
        .prefetch_related(Prefetch("log", queryset=DeliveryAttempt.objects.order_by("number")))
        .order_by("-id")[:limit]
    )


def is_subscribed(*, user: User) -> bool:
    return DigestSubscription.objects.filter(user=user).exists()


def digest_recipients(*, company: Company) -> QuerySet[User]:
    """The company's active users who asked for the digest and whose role may read it."""
    return (
        User.objects.for_company(company)
        .filter(is_active=True, digest_subscription__isnull=False, role__isnull=False)
        .filter(_may_read_digest())
        .order_by("email")
    )


def _may_read_digest() -> Q:
    return (
        Q(role__is_administrator=True)
        | ~Q(role__contracts=Level.NONE)
        | ~Q(role__billing_review=Level.NONE)
    )


def user_may_read_digest(*, user: User) -> bool:
    return User.objects.filter(pk=user.pk).filter(_may_read_digest()).exists()
