"""The outbox: what happened, recorded in the same transaction as the change it tells
of, and delivered later (webhooks, the nightly digest: the notify app). An event is
never changed after it is recorded, except for `relayed_at` (set once it was handed to
the deliveries)."""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from icb.tenancy.models import Company
from icb.tenancy.scoping import CompanyQuerySet


class Event(models.Model):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    # One of types.EVENT_TYPES (checked by record_event; no choices here, so a new type
    # needs no migration).
    type = models.CharField(max_length=40)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    # Set when the relay (notify) has made its webhook deliveries; null while waiting.
    relayed_at = models.DateTimeField(null=True, blank=True)

    objects = CompanyQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["company", "type", "created_at"]),
            # The relay's look for events not yet handed on (few rows at any time).
            models.Index(
                fields=["id"], condition=Q(relayed_at__isnull=True), name="event_unrelayed_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} #{self.pk}"
