"""Telling people: webhook endpoints and their deliveries (one per event and endpoint,
with a row per attempt), the users who get the nightly digest, and the digests made
(one per company and night)."""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from icb.events.models import Event
from icb.tenancy.models import Company, User
from icb.tenancy.scoping import CompanyQuerySet


class WebhookEndpoint(models.Model):
    """A URL an administrator set, the event types it takes, and its signing secret
    (Standard Webhooks, "whsec_…"), Fernet-encrypted at rest and shown once."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    event_types = models.JSONField(default=list)
    secret_encrypted = models.TextField()
    enabled = models.BooleanField(default=True)
    # Why it was disabled (by the delivery rule in notify.delivery, or by a person).
    disabled_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)

    objects = CompanyQuerySet.as_manager()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.url


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed (gave up)"


class WebhookDelivery(models.Model):
    """One event (or test event) to one endpoint. The body and the message id are fixed
    when it is made, so every attempt sends the same bytes under the same webhook-id
    (receivers de-duplicate on it); each attempt is signed with its own timestamp."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(
        Event, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    message_id = models.CharField(max_length=64)
    event_type = models.CharField(max_length=40)
    body = models.TextField()
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Held by the worker sending it, so two workers never send the same attempt.
    claimed_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = CompanyQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="webhook_delivery_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint_id} ({self.status})"


class DeliveryAttempt(models.Model):
    """The delivery log: one row per HTTP attempt."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="log")
    number = models.PositiveIntegerField()
    attempted_at = models.DateTimeField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    objects = CompanyQuerySet.as_manager()

    class Meta:
        ordering = ["delivery", "number"]

    def __str__(self) -> str:
        return f"{self.delivery_id} #{self.number}: {self.status_code or self.error}"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class DigestSubscription(models.Model):
    """A user who asked, on their profile, for the nightly digest by email."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="digest_subscription")
    created_at = models.DateTimeField(default=timezone.now)

    objects = CompanyQuerySet.as_manager()

    def __str__(self) -> str:
        return f"digest → {self.user_id}"


class Digest(models.Model):
    """The digest of one company's night, made once (the unique night), whether or not
    anything happened (then nobody is mailed: `recipients` is 0)."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    night = models.DateField(help_text="The company's local date of the nightly run.")
    covered_from = models.DateTimeField()
    covered_until = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    recipients = models.PositiveIntegerField(default=0)
    summary = models.JSONField(default=dict)
    error = models.CharField(max_length=500, blank=True)

    objects = CompanyQuerySet.as_manager()

    class Meta:
        ordering = ["-night"]
        constraints = [
            models.UniqueConstraint(fields=["company", "night"], name="digest_once_per_night")
        ]

    def __str__(self) -> str:
        return f"digest {self.company_id} {self.night}"
