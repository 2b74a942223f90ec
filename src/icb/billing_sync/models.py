"""Sync runs: one per company per dispatch (nightly or retry) or per manual sync. A
run's services are its unit changes (history rows carrying the run's id) and its items:
one per service that failed or lacks a mapping. Unchanged services are counted on the
run (a manual sync itemizes its service whatever the result). The services' own sync
state (mode, module, billing type, status, message, last/next sync, claim) lives on
contracts.Service."""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from icb.contracts.models import Service
from icb.tenancy.models import Company, User
from icb.tenancy.scoping import CompanyQuerySet


class SyncTrigger(models.TextChoices):
    NIGHTLY = "nightly", "Nightly"
    MANUAL = "manual", "Manual"
    RETRY = "retry", "Retry"


class SyncRun(models.Model):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    trigger = models.CharField(max_length=8, choices=SyncTrigger.choices)
    user = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    # A run's services are claimed in batches; it is finished when every batch has been
    # written, or closed as interrupted when its claims expired first (a worker or a web
    # request died): finished_at is then when the dispatcher closed it, and the batches
    # not done were never written (their services are taken by the next dispatch).
    batches_total = models.PositiveIntegerField(default=0)
    batches_done = models.PositiveIntegerField(default=0)
    interrupted = models.BooleanField(default=False)
    services_changed = models.PositiveIntegerField(default=0)
    services_unchanged = models.PositiveIntegerField(default=0)
    services_failed = models.PositiveIntegerField(default=0)
    services_incomplete = models.PositiveIntegerField(default=0)
    # [{"module": "rmm", "message": "...", "services": 12}, ...]
    errors = models.JSONField(default=list, blank=True)

    objects = CompanyQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["company", "-started_at"]),
            # The dispatcher's look for runs whose claims expired (few rows are open).
            models.Index(
                fields=["started_at"],
                condition=Q(finished_at__isnull=True),
                name="sync_run_open_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"Sync run {self.pk} ({self.trigger})"

    @property
    def status(self) -> str:
        """running, finished or interrupted."""
        if self.interrupted:
            return "interrupted"
        return "running" if self.finished_at is None else "finished"

    @property
    def batches_unfinished(self) -> int:
        """Batches never written (of an interrupted run; of a running one, not yet)."""
        return max(self.batches_total - self.batches_done, 0)

    @property
    def services_total(self) -> int:
        return (
            self.services_changed
            + self.services_unchanged
            + self.services_failed
            + self.services_incomplete
        )


class ItemStatus(models.TextChoices):
    CHANGED = "changed", "Units changed"
    UNCHANGED = "unchanged", "Unchanged"
    MAPPING_INCOMPLETE = "mapping_incomplete", "Mapping Settings Incomplete"
    ERROR = "error", "Failed"


class SyncRunItem(models.Model):
    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="items")
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=20, choices=ItemStatus.choices)
    old_units = models.DecimalField(max_digits=12, decimal_places=2, null=True)
    new_units = models.DecimalField(max_digits=12, decimal_places=2, null=True)
    message = models.CharField(max_length=500, blank=True)

    objects = CompanyQuerySet.as_manager()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.run_id}/{self.service_id}: {self.status}"
