"""The company's connection to the integration hub, and the hub's module catalogue and
organization directory as last read."""

from django.db import models
from django.utils import timezone

from icb.tenancy.models import Company, User
from icb.tenancy.scoping import CompanyQuerySet, ModuleOwnedQuerySet


class HubState(models.TextChoices):
    """A company's hub connection: working; broken (the hub refused its tokens: syncing
    waits until an administrator reconnects, the reason is `last_error`); or none at all
    (disconnected: no HubConnection row, the tokens forgotten)."""

    CONNECTED = "connected", "Connected"
    BROKEN = "broken", "Connection lost"
    DISCONNECTED = "disconnected", "Not connected"


class HubConnection(models.Model):
    """At most one per company. Tokens are Fernet-encrypted (icb.hub.crypto). A row is
    connected or broken; disconnecting deletes it."""

    company = models.OneToOneField(Company, on_delete=models.CASCADE, related_name="hub_connection")
    connected_at = models.DateTimeField(default=timezone.now)
    connected_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    access_token_encrypted = models.TextField()
    refresh_token_encrypted = models.TextField(blank=True)
    access_token_expires_at = models.DateTimeField(null=True)
    scope = models.CharField(max_length=200, blank=True)
    last_refresh_at = models.DateTimeField("last directory refresh", null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=12, choices=HubState.choices, default=HubState.CONNECTED)

    objects = CompanyQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=[HubState.CONNECTED, HubState.BROKEN]),
                name="hub_connection_state_stored",
            )
        ]

    def __str__(self) -> str:
        return f"Hub connection of {self.company}"


class Module(models.Model):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="hub_modules")
    code = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    removed_at = models.DateTimeField(null=True, blank=True)
    organizations_refreshed_at = models.DateTimeField(null=True, blank=True)
    # The revenue account of this module's services in accounting exports (a service's
    # own code first; empty: the company's).
    revenue_account_code = models.CharField(max_length=40, blank=True)

    objects = CompanyQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "code"], name="module_code_unique_per_company"
            )
        ]

    def __str__(self) -> str:
        return self.name


class BillingType(models.Model):
    module = models.ForeignKey(Module, on_delete=models.CASCADE, related_name="billing_types")
    code = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    unit = models.CharField(max_length=40, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)

    objects = ModuleOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["module", "code"], name="billing_type_unique_per_module"
            )
        ]

    def __str__(self) -> str:
        return self.name


class OrganizationStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"
    CANCELLED = "cancelled", "Cancelled"


class Organization(models.Model):
    """A customer record inside a module. `external_id` is the hub's id; the parent is
    kept as the hub's id too, so a refresh never depends on row order."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    module = models.ForeignKey(Module, on_delete=models.CASCADE, related_name="organizations")
    external_id = models.CharField(max_length=128)
    name = models.CharField(max_length=300)
    parent_external_id = models.CharField(max_length=128, blank=True, default="")
    status = models.CharField(
        max_length=10, choices=OrganizationStatus.choices, default=OrganizationStatus.ACTIVE
    )
    # Gone from the hub at the last refresh; kept (and flagged) while anything refers to it.
    removed_at = models.DateTimeField(null=True, blank=True)
    seen_at = models.DateTimeField(default=timezone.now)
    # When a directory refresh first listed it; null for those of its module's first read
    # (there from the start, so not "new"). The unmapped usage marks the recent ones new.
    appeared_at = models.DateTimeField(null=True, blank=True)

    objects = CompanyQuerySet.as_manager()

    class Meta:
        ordering = ["name", "external_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["module", "external_id"], name="organization_unique_per_module"
            )
        ]
        indexes = [
            models.Index(fields=["module", "name"]),
            models.Index(fields=["module", "parent_external_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.external_id})"
