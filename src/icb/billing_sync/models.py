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
    # Changes the review policy held (billing_sync.held): the units were kept.
    services_held = models.PositiveIntegerField(default=0)
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
            + self.services_held
        )


class ItemStatus(models.TextChoices):
    CHANGED = "changed", "Units changed"
    UNCHANGED = "unchanged", "Unchanged"
    MAPPING_INCOMPLETE = "mapping_incomplete", "Mapping Settings Incomplete"
    ERROR = "error", "Failed"
    HELD = "held", "Held for review"


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


# --- Billing review: the policy a sync applies, and the changes it holds --------------


class ReviewMode(models.TextChoices):
    AUTO = "auto", "Apply every change automatically"
    HOLD_ALL = "hold_all", "Hold every change for review"
    HOLD_UNUSUAL = "hold_unusual", "Hold only unusual changes"


class ReviewPolicy(models.Model):
    """Which unit changes a sync applies and which it holds for a person: the company's
    (module empty) and optional per-module overrides. A company without a row has the
    default (policy.DEFAULT_POLICY). Evaluated in memory by policy.hold_rule()."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    module = models.ForeignKey(
        "hub.Module", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    mode = models.CharField(
        max_length=12, choices=ReviewMode.choices, default=ReviewMode.HOLD_UNUSUAL
    )
    # hold_unusual: a change of more than max_units units or more than max_percent % of
    # the current units; a drop to zero; a drop of more than hold_drop_percent %; the
    # first sync of a service. An empty number is a rule switched off.
    max_units = models.PositiveIntegerField(null=True, blank=True)
    max_percent = models.PositiveIntegerField(null=True, blank=True)
    hold_drop_to_zero = models.BooleanField(default=True)
    hold_drop_percent = models.PositiveIntegerField(null=True, blank=True, default=50)
    hold_first_sync = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CompanyQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["company"], condition=Q(module__isnull=True), name="review_policy_company"
            ),
            models.UniqueConstraint(
                fields=["company", "module"],
                condition=Q(module__isnull=False),
                name="review_policy_module",
            ),
        ]

    def __str__(self) -> str:
        return f"Review policy of {self.company_id} ({self.module_id or 'company'})"


class ReviewPolicyChange(models.Model):
    """A change of a company's review policy: who, when, the whole policy before and
    after (the JSON of the review-policy API)."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)
    old = models.JSONField(default=dict)
    new = models.JSONField(default=dict)

    objects = CompanyQuerySet.as_manager()

    class Meta:
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"Review policy change {self.pk}"


class HoldRule(models.TextChoices):
    """Why a change was held (the first rule of the policy that matched)."""

    HOLD_ALL = "hold_all", "every change held"
    FIRST_SYNC = "first_sync", "first sync"
    DROP_TO_ZERO = "drop_to_zero", "drop to zero"
    DROP_PERCENT = "drop_percent", "large drop"
    MAX_UNITS = "max_units", "large change"
    MAX_PERCENT = "max_percent", "large change in percent"


class HeldStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    DISMISSED = "dismissed", "Dismissed"
    ADJUSTED = "adjusted", "Adjusted"
    WITHDRAWN = "withdrawn", "Withdrawn"


class HeldChange(models.Model):
    """A unit change a sync did not apply because the review policy holds it: the service
    keeps its units until a person decides. At most one pending per service; a later sync
    updates it (proposed units, breakdown, last seen) or withdraws it when the hub is back
    at the current units. Decided and withdrawn rows stay as the record."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=10, choices=HeldStatus.choices, default=HeldStatus.PENDING)
    current_units = models.DecimalField(max_digits=12, decimal_places=2)
    proposed_units = models.DecimalField(max_digits=12, decimal_places=2)
    rule = models.CharField(max_length=12, choices=HoldRule.choices)
    # The breakdown of the proposed number, as a sync history row's `detail`.
    detail = models.JSONField(default=dict, blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    # The run that held it first, and the last run that saw it (or withdrew it).
    sync_run_id = models.BigIntegerField(null=True, blank=True)
    last_run_id = models.BigIntegerField(null=True, blank=True)
    # The decision (or the withdrawal: decided_at and last_run_id, no user).
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_units = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    effective_date = models.DateField(null=True, blank=True)
    note = models.CharField(max_length=500, blank=True)

    objects = CompanyQuerySet.as_manager()

    class Meta:
        ordering = ["-last_seen_at", "-id"]
        indexes = [
            models.Index(fields=["service", "status"]),
            models.Index(fields=["company", "status"]),
            models.Index(
                fields=["sync_run_id"],
                name="held_change_run",
                condition=Q(sync_run_id__isnull=False),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["service"], condition=Q(status="pending"), name="held_change_one_pending"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_id}: {self.current_units} → {self.proposed_units} ({self.status})"

    @property
    def delta(self):
        return self.proposed_units - self.current_units

    @property
    def new_units(self):
        """The number its breakdown adds up to (as a sync history row's new_units)."""
        return self.proposed_units

    @property
    def rule_words(self) -> str:
        return self.get_rule_display()


class PreviewStatus(models.TextChoices):
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class SyncPreview(models.Model):
    """A company-wide sync preview, run by a background task (preview.py): its progress,
    then every ICB service's row (PreviewRow.as_json, largest monthly impact first). The
    only thing a preview writes; a company's older ones are deleted when it starts one."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(
        max_length=8, choices=PreviewStatus.choices, default=PreviewStatus.RUNNING
    )
    services_done = models.PositiveIntegerField(default=0)
    services_total = models.PositiveIntegerField(default=0)
    rows = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Its last sign of life (progress or end): a running preview silent for long died
    # with its worker (review.selectors.sync_preview_get).
    updated_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = CompanyQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["company", "created_at"])]

    def __str__(self) -> str:
        return f"preview {self.pk}: {self.status}"
