"""CRM accounts: the MSP's customers."""

from decimal import Decimal

from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from icb.tenancy.models import TAX_RATE_FIELD, Company
from icb.tenancy.scoping import CompanyQuerySet

account_code_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9._\-]*$",
    "Use letters, digits, dots, dashes and underscores, starting with a letter or digit.",
)


class Account(models.Model):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="accounts")
    name = models.CharField(max_length=200)
    code = models.CharField(max_length=40, validators=[account_code_validator])
    is_active = models.BooleanField("active", default=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    website = models.URLField(blank=True)
    address_line1 = models.CharField("address", max_length=200, blank=True)
    address_line2 = models.CharField("address (line 2)", max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    region = models.CharField("state / region", max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=100, blank=True)
    notes = models.TextField(blank=True)
    # Empty: the company's tax rate.
    tax_rate = models.DecimalField(null=True, blank=True, **TAX_RATE_FIELD)  # type: ignore[arg-type]
    accounting_contact_name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CompanyQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "code"], name="account_code_unique_per_company"
            )
        ]
        indexes = [
            models.Index(fields=["company", "name"]),
            models.Index(fields=["company", "is_active", "name"]),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def tax_rate_in_effect(self, company: Company) -> Decimal:
        return company.tax_rate if self.tax_rate is None else self.tax_rate
