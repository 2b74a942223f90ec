"""Recurring service contracts, their services (billing lines) and the history of units."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone

from icb.common.money import CURRENCY_CHOICES, line_amount
from icb.crm.models import Account
from icb.tenancy.models import (
    PAYMENT_TERMS_VALIDATORS,
    BillingTiming,
    Company,
    Proration,
    User,
)
from icb.tenancy.scoping import CompanyQuerySet

ZERO = Decimal("0")
# Units and prices: at most 10 digits before the point and 2 after (the columns are
# DECIMAL(12, 2)).
DECIMAL_PLACES = 2
MAX_DIGITS = 12


class BillingFrequency(models.TextChoices):
    MONTHLY = "monthly", "Monthly"
    QUARTERLY = "quarterly", "Quarterly"
    YEARLY = "yearly", "Yearly"


class ContractStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    ON_HOLD = "on_hold", "On hold"
    ENDED = "ended", "Ended"


class Contract(models.Model):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="contracts")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="contracts")
    name = models.CharField(max_length=200)
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    billing_frequency = models.CharField(
        max_length=10, choices=BillingFrequency.choices, default=BillingFrequency.MONTHLY
    )
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    status = models.CharField(
        max_length=10, choices=ContractStatus.choices, default=ContractStatus.ACTIVE
    )
    # Billing settings: null takes the company's default (docs/billing-rules.md).
    billing_timing = models.CharField(
        max_length=8, choices=BillingTiming.choices, null=True, blank=True
    )
    proration = models.CharField(max_length=8, choices=Proration.choices, null=True, blank=True)
    payment_terms_days = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=PAYMENT_TERMS_VALIDATORS
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CompanyQuerySet.as_manager()
    # Not columns: set on the contracts of a list's page by selectors.attach_totals.
    total_amount: Decimal
    service_count: int

    class Meta:
        ordering = ["account__name", "name", "id"]
        indexes = [models.Index(fields=["company", "account"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_date__isnull=True)
                | models.Q(end_date__gte=models.F("start_date")),
                name="contract_end_not_before_start",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.end_date and self.start_date and self.end_date < self.start_date:
            raise ValidationError({"end_date": "The end date cannot be before the start date."})

    def billing_in_effect(self, company: Company) -> dict:
        """The contract's billing settings, the company's default where it has none."""
        own = {
            "billing_timing": self.billing_timing,
            "proration": self.proration,
            "payment_terms_days": self.payment_terms_days,
        }
        return {
            name: getattr(company, name) if value is None else value for name, value in own.items()
        }


class BillingMode(models.TextChoices):
    MANUAL = "manual", "Manual"
    ICB = "icb", "Integrated Customer Billing"


class SyncStatus(models.TextChoices):
    NEVER = "never", "Not synced yet"
    OK = "ok", "Synced"
    MAPPING_INCOMPLETE = "mapping_incomplete", "Mapping Settings Incomplete"
    ERROR = "error", "Sync failed"


class Service(models.Model):
    """A line of a contract's Billing Information, billed at units × unit price."""

    # Indexed by (company, contract): a second index on the company alone would be one
    # more entry to write for each service at every nightly sync.
    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, related_name="services", db_index=False
    )
    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="services")
    name = models.CharField(max_length=200)
    description = models.CharField(max_length=500, blank=True)
    unit_price = models.DecimalField(
        max_digits=12, decimal_places=2, validators=[MinValueValidator(ZERO)]
    )
    units = models.DecimalField(
        max_digits=12, decimal_places=2, default=ZERO, validators=[MinValueValidator(ZERO)]
    )
    # Days in the company's time zone, both included; not before the contract's start.
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    # Empty: the module's code, then the company's (accounting exports).
    revenue_account_code = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    # --- Integrated Customer Billing (the sync engine in icb.billing_sync keeps these) --
    billing_mode = models.CharField(
        max_length=8, choices=BillingMode.choices, default=BillingMode.MANUAL
    )
    # Indexed by (icb_module, id): see Meta.indexes.
    icb_module = models.ForeignKey(
        "hub.Module",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    icb_billing_type = models.ForeignKey(
        "hub.BillingType", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    icb_status = models.CharField(
        max_length=20, choices=SyncStatus.choices, default=SyncStatus.NEVER
    )
    icb_message = models.CharField(max_length=500, blank=True)
    last_sync_at = models.DateTimeField(null=True, blank=True)
    # UTC; the next midnight in the company's time zone, or a retry time after a failure.
    next_sync_at = models.DateTimeField(null=True, blank=True)
    # A dispatcher's claim: only the holder of `sync_claim_token` may write the result,
    # and an expired claim (a dead worker) can be taken again.
    sync_claimed_until = models.DateTimeField(null=True, blank=True)
    sync_claim_token = models.CharField(max_length=32, blank=True)
    sync_retry_count = models.PositiveIntegerField(default=0)

    objects = CompanyQuerySet.as_manager()

    class Meta:
        ordering = ["contract_id", "name", "id"]
        indexes = [
            models.Index(fields=["company", "contract"]),
            models.Index(fields=["billing_mode", "next_sync_at"], name="service_sync_due"),
            # A sync batch is a module's services in an id range (billing_sync.dispatch):
            # read straight from this index, however many services the module has (a
            # module index alone made PostgreSQL combine it with the primary key's range,
            # reading every service of the module for each batch).
            models.Index(fields=["icb_module", "id"], name="service_module_batch"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(units__gte=0), name="service_units_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(unit_price__gte=0), name="service_price_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(end_date__isnull=True)
                | models.Q(end_date__gte=models.F("start_date")),
                name="service_end_not_before_start",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def amount(self) -> Decimal:
        return line_amount(self.units, self.unit_price)

    def clean(self) -> None:
        errors = {}
        if self.end_date and self.start_date and self.end_date < self.start_date:
            errors["end_date"] = "The end date cannot be before the start date."
        contract = self.contract if self.contract_id else None
        if contract and self.start_date and self.start_date < contract.start_date:
            errors["start_date"] = (
                f"The start date cannot be before the contract's start "
                f"({contract.start_date.isoformat()})."
            )
        if errors:
            raise ValidationError(errors)

    def revenue_account_in_effect(self, company: Company) -> str:
        module_code = self.icb_module.revenue_account_code if self.icb_module else ""
        return self.revenue_account_code or module_code or company.revenue_account_code

    @property
    def is_icb(self) -> bool:
        return self.billing_mode == BillingMode.ICB


class UnitChangeSource(models.TextChoices):
    CREATED = "created", "Service created"
    USER = "user", "Changed by a user"
    SYNC = "sync", "Integrated Customer Billing sync"
    # A held change decided on the Billing review page: its number, or another one.
    APPROVED = "approved", "Held change approved"
    ADJUSTED = "adjusted", "Held change adjusted"


class ServiceUnitChange(models.Model):
    """One change of a service's units: what, when, and by whom or what, so any
    invoice line can be explained."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    # Indexed by (service, changed_at) below; a second index on service alone would only
    # slow down the nightly sync's inserts.
    # RESTRICT, not CASCADE: the history outlives the service it explains (a service
    # with history is ended, not deleted). Unlike PROTECT it lets a deletion through
    # that removes the history itself in the same operation.
    service = models.ForeignKey(
        Service, on_delete=models.RESTRICT, related_name="unit_changes", db_index=False
    )
    old_units = models.DecimalField(max_digits=12, decimal_places=2, null=True)
    new_units = models.DecimalField(max_digits=12, decimal_places=2)
    changed_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=10, choices=UnitChangeSource.choices)
    user = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # For sync changes: the run and the per-organization quantities behind the number.
    sync_run_id = models.BigIntegerField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    # The day the new units count from, in the company's time zone (invoices prorate by
    # it): the day the change was recorded unless a person dated it back.
    effective_date = models.DateField()
    # Why, in a person's words (a review decision's reason or note).
    note = models.CharField(max_length=500, blank=True, db_default="")

    objects = CompanyQuerySet.as_manager()

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [
            models.Index(fields=["service", "-changed_at"]),
            # A sync run's page lists its unit changes from here (not copied to its items),
            # in id order: with the id in the index the database reads the run's rows in
            # that order instead of walking the whole history by primary key.
            models.Index(
                fields=["sync_run_id", "id"],
                name="unit_change_sync_run_id",
                condition=models.Q(sync_run_id__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_id}: {self.old_units} → {self.new_units}"

    def save(self, *args, **kwargs) -> None:
        if self.effective_date is None:
            self.effective_date = timezone.localdate(self.changed_at, self.company.zone)
        super().save(*args, **kwargs)
