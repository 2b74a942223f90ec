"""Which module organizations belong to which CRM account (one-to-many), and the record
of every change."""

from django.db import models
from django.utils import timezone

from icb.crm.models import Account
from icb.hub.models import Module, Organization
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
