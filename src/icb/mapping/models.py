"""Which module organizations belong to which CRM account (one-to-many), and the record
of every change."""

from django.db import models
from django.utils import timezone

from icb.crm.models import Account
from icb.hub.models import BillingType, Module, Organization
from icb.tenancy.models import Company, User
from icb.tenancy.scoping import CompanyQuerySet, UserOwnedQuerySet


class Mapping(models.Model):
    """One module organization mapped to one account. The one-to-one link makes the
    database refuse a second account for the same organization (its usage would be
    billed twice). `module` repeats the organization's module for fast per-module reads."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="mappings")
    module = models.ForeignKey(Module, on_delete=models.CASCADE, related_name="mappings")
    organization = models.OneToOneField(
        Organization, on_delete=models.PROTECT, related_name="mapping"
    )
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")

    objects = CompanyQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["company", "account", "module"])]

    def __str__(self) -> str:
        return f"{self.organization} → {self.account}"


class MappingChangeAction(models.TextChoices):
    ADDED = "added", "Added"
    REMOVED = "removed", "Removed"


class MappingChange(models.Model):
    """Who mapped or unmapped which organization to which account, and when. Names are
    copied so the record still reads well after the organization is gone."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="mapping_changes")
    module_code = models.CharField(max_length=64)
    organization_external_id = models.CharField(max_length=128)
    organization_name = models.CharField(max_length=300)
    action = models.CharField(max_length=8, choices=MappingChangeAction.choices)
    user = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    changed_at = models.DateTimeField(default=timezone.now)

    objects = CompanyQuerySet.as_manager()

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [
            models.Index(fields=["company", "account", "-changed_at"]),
            # The company's changes newest first (the changes API without an account):
            # read in index order instead of sorting all of them on every request.
            models.Index(fields=["company", "-changed_at", "-id"], name="mapping_change_newest"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.organization_name} ({self.account_id})"


class MappingColumns(models.Model):
    """The module columns a user chose for the mapping page (at most three); none stored,
    or an empty list, means the company's default columns."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="mapping_columns")
    module_codes = models.JSONField(default=list)

    objects = UserOwnedQuerySet.as_manager()

    def __str__(self) -> str:
        return ", ".join(self.module_codes)


class DefaultMappingColumns(models.Model):
    """The module columns an administrator chose as the company's default for the
    mapping page (at most three). A user's own choice wins over it; without it, the
    modules with the most mappings are shown."""

    company = models.OneToOneField(Company, on_delete=models.CASCADE, related_name="+")
    module_codes = models.JSONField(default=list)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")

    objects = CompanyQuerySet.as_manager()

    def __str__(self) -> str:
        return ", ".join(self.module_codes)


class UnmappedUsage(models.Model):
    """A quantity the hub reported for an organization that belonged to no account when
    usage was last read (one row per organization and billing type, zeros left out). A
    snapshot: each read replaces the company's rows; the reads check the mapping again,
    so an organization mapped since drops out at once."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    module = models.ForeignKey(Module, on_delete=models.CASCADE, related_name="+")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    billing_type = models.ForeignKey(BillingType, on_delete=models.CASCADE, related_name="+")
    quantity = models.DecimalField(max_digits=20, decimal_places=4)
    measured_at = models.DateTimeField(null=True, blank=True)

    objects = CompanyQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "billing_type"], name="unmapped_usage_unique"
            )
        ]
        indexes = [models.Index(fields=["company", "organization"])]

    def __str__(self) -> str:
        return f"{self.organization_id}/{self.billing_type_id}: {self.quantity}"


class UsualPrice(models.Model):
    """The company's usual price of a module's billing type, as the last read of unmapped
    usage computed it: the median unit price of its ICB services on contracts not ended.
    Stored with the snapshot so that reading the estimated revenue reads a row per billing
    type, not every service."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    module = models.ForeignKey(Module, on_delete=models.CASCADE, related_name="+")
    billing_type = models.ForeignKey(BillingType, on_delete=models.CASCADE, related_name="+")
    # The median of prices with 2 places has at most 3 (the mean of the middle two).
    unit_price = models.DecimalField(max_digits=15, decimal_places=3)
    services = models.PositiveIntegerField()  # how many services the median is of
    computed_at = models.DateTimeField(default=timezone.now)

    objects = CompanyQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["company", "billing_type"], name="usual_price_unique")
        ]

    def __str__(self) -> str:
        return f"{self.billing_type_id}: {self.unit_price}"


class IncompleteMapping(models.Model):
    """An account with ICB services in a module where none of its organizations was
    mapped, as the last read of unmapped usage found it (those services cannot sync).
    The reads check the mappings again, so an account mapped since drops out at once."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    module = models.ForeignKey(Module, on_delete=models.CASCADE, related_name="+")
    services = models.PositiveIntegerField()

    objects = CompanyQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "module"], name="incomplete_mapping_unique")
        ]
        indexes = [models.Index(fields=["company", "account"], name="mapping_inc_company_idx")]

    def __str__(self) -> str:
        return f"{self.account_id}/{self.module_id}: {self.services}"


class MappingSuggestion(models.Model):
    """The account an unmapped organization most likely belongs to, as the last search
    found it; applied only when a person accepts it."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    module = models.ForeignKey(Module, on_delete=models.CASCADE, related_name="+")
    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="mapping_suggestion"
    )
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    confidence = models.DecimalField(max_digits=4, decimal_places=3)
    reason = models.CharField(max_length=300)
    created_at = models.DateTimeField(default=timezone.now)

    objects = CompanyQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["company", "-confidence"])]

    def __str__(self) -> str:
        return f"{self.organization_id} → {self.account_id} ({self.confidence})"


class UnmappedScanStep(models.TextChoices):
    USAGE = "usage", "Reading usage"
    SUGGESTIONS = "suggestions", "Finding suggestions"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class UnmappedScan(models.Model):
    """The company's last read of unmapped usage and search for suggestions (a
    background task), with its progress: one row per company, reused."""

    company = models.OneToOneField(Company, on_delete=models.CASCADE, related_name="+")
    step = models.CharField(max_length=12, choices=UnmappedScanStep.choices)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The usage snapshot's time (the last read that worked), and the last failure.
    usage_read_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)

    objects = CompanyQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.step} {self.done}/{self.total}"

    @property
    def running(self) -> bool:
        return self.step in (UnmappedScanStep.USAGE, UnmappedScanStep.SUGGESTIONS)
