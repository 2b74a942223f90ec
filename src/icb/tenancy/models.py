"""Companies (tenants), users, roles with a permission level per area, API tokens."""

import zoneinfo
from decimal import Decimal
from typing import ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from icb.common.money import CURRENCY_CHOICES

from .scoping import CompanyQuerySet, UserOwnedQuerySet


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"Unknown time zone “{value}”.")


class BillingTiming(models.TextChoices):
    ADVANCE = "advance", "In advance"
    ARREARS = "arrears", "In arrears"


class Proration(models.TextChoices):
    DAILY = "daily", "Daily"
    NONE = "none", "None (changes count from the next period)"


# Percent with up to three decimals (8.875 %), 0 to 100.
TAX_RATE_FIELD = {
    "max_digits": 6,
    "decimal_places": 3,
    "validators": [MinValueValidator(0), MaxValueValidator(100)],
}
MAX_PAYMENT_TERMS_DAYS = 365
PAYMENT_TERMS_VALIDATORS = [MinValueValidator(0), MaxValueValidator(MAX_PAYMENT_TERMS_DAYS)]


class Company(models.Model):
    """The MSP using the product: the tenant every record belongs to."""

    name = models.CharField(max_length=200, unique=True)
    time_zone = models.CharField(
        max_length=64, default="America/New_York", validators=[validate_time_zone]
    )
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, default="USD")
    created_at = models.DateTimeField(default=timezone.now)
    # Billing defaults: a contract, account or service without its own value uses these
    # (docs/billing-rules.md).
    billing_timing = models.CharField(
        max_length=8, choices=BillingTiming.choices, default=BillingTiming.ADVANCE
    )
    proration = models.CharField(max_length=8, choices=Proration.choices, default=Proration.DAILY)
    payment_terms_days = models.PositiveSmallIntegerField(
        default=30, validators=PAYMENT_TERMS_VALIDATORS
    )
    tax_rate = models.DecimalField(default=Decimal("0"), **TAX_RATE_FIELD)  # type: ignore[arg-type]
    revenue_account_code = models.CharField(max_length=40, blank=True)

    class Meta:
        verbose_name_plural = "companies"

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class Area(models.TextChoices):
    """Permission areas; a role holds one Level per area."""

    CRM_ACCOUNTS = "crm_accounts", "CRM Accounts"
    CONTRACTS = "contracts", "Contracts"
    HUB_SETTINGS = "hub_settings", "Hub Settings"
    SECURITY = "security", "Security & Integrations"
    BILLING_REVIEW = "billing_review", "Billing review"
    INVOICING = "invoicing", "Invoicing"


class Level(models.TextChoices):
    NONE = "none", "None"
    VIEW = "view", "View"
    MODIFY = "modify", "Modify"


LEVEL_RANK = {Level.NONE: 0, Level.VIEW: 1, Level.MODIFY: 2}


def _level_field(verbose_name: str) -> models.CharField:
    return models.CharField(verbose_name, max_length=8, choices=Level.choices, default=Level.NONE)


class Role(models.Model):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="roles")
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=300, blank=True)
    # Administrators have every area at "modify" plus the admin-only actions
    # (connecting the hub, the "Open the Integration Mapping" link).
    is_administrator = models.BooleanField(default=False)
    built_in = models.BooleanField(default=False)
    crm_accounts = _level_field("CRM Accounts")
    contracts = _level_field("Contracts")
    hub_settings = _level_field("Hub Settings")
    security = _level_field("Security & Integrations")
    billing_review = _level_field("Billing review")
    invoicing = _level_field("Invoicing")

    objects = CompanyQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["company", "name"], name="role_name_unique_per_company")
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def level(self, area: Area | str) -> str:
        if self.is_administrator:
            return Level.MODIFY
        return getattr(self, Area(area).value)


# The Django plugin of mypy cannot type a `from_queryset` class used as a base (nor one
# assigned to a name first): the manager's queryset methods are unchecked, not wrong.
class UserManager(BaseUserManager.from_queryset(CompanyQuerySet)):  # type: ignore[misc]
    use_in_migrations = True

    def create_user(self, email, password=None, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in with an email address; belongs to one company with one role."""

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=200, blank=True)
    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, related_name="users", null=True, blank=True
    )
    role = models.ForeignKey(Role, on_delete=models.PROTECT, related_name="users", null=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def is_administrator(self) -> bool:
        return bool(self.role and self.role.is_administrator)


class ApiToken(models.Model):
    """A personal API token. Only a SHA-256 of the token is stored; the token itself is
    shown once, when created."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = UserOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
