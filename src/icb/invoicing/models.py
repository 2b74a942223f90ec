"""Invoice runs, invoices and their lines, the company's number sequence, and what each
invoice billed per contract (docs/billing-rules.md, "Runs, numbering, freezing").

A final invoice is frozen: the services refuse changing it (409 `invoice_final`) and on
PostgreSQL a trigger refuses it too (migration 0002)."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone

from icb.contracts.models import Contract, Service
from icb.crm.models import Account
from icb.tenancy.models import Company
from icb.tenancy.scoping import CompanyQuerySet

MONEY = {"max_digits": 14, "decimal_places": 2}
UNITS = {"max_digits": 14, "decimal_places": 2}


class RunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class InvoiceRun(models.Model):
    """The drafts of one period. One run per company and period: starting the period
    again rebuilds that run's drafts from current data."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    period_start = models.DateField()
    period_end = models.DateField()
    status = models.CharField(max_length=8, choices=RunStatus.choices, default=RunStatus.RUNNING)
    # Contracts computed / contracts due, while running; a failure's message for a person.
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    message = models.CharField(max_length=500, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = CompanyQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["company", "period_start"], name="invoice_run_one_per_period"
            )
        ]
        ordering = ["-period_start"]

    def __str__(self) -> str:
        return f"Invoice run {self.period_start:%B %Y}"

    @property
    def progress(self) -> int:
        """Percent done (100 once done)."""
        if self.status == RunStatus.DONE:
            return 100
        if not self.progress_total:
            return 0
        return min(99, self.progress_done * 100 // self.progress_total)


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    FINAL = "final", "Final"
    VOID = "void", "Void"


class InvoiceKind(models.TextChoices):
    INVOICE = "invoice", "Invoice"
    CREDIT_NOTE = "credit_note", "Credit note"


class Invoice(models.Model):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="invoices")
    run = models.ForeignKey(
        InvoiceRun, on_delete=models.PROTECT, null=True, blank=True, related_name="invoices"
    )
    number = models.CharField(max_length=40, null=True, blank=True)  # set when final
    status = models.CharField(
        max_length=8, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT
    )
    kind = models.CharField(max_length=12, choices=InvoiceKind.choices, default=InvoiceKind.INVOICE)
    credit_of = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="credit_notes"
    )
    period_start = models.DateField()
    period_end = models.DateField()
    issue_date = models.DateField(null=True, blank=True)
    due_date = models.DateField(null=True, blank=True)
    currency = models.CharField(max_length=3)
    subtotal = models.DecimalField(default=0, **MONEY)  # type: ignore[arg-type]
    tax = models.DecimalField(default=0, **MONEY)  # type: ignore[arg-type]
    total = models.DecimalField(default=0, **MONEY)  # type: ignore[arg-type]
    # The shortest payment terms of its contracts, for the due date once final.
    payment_terms_days = models.PositiveSmallIntegerField(default=30)
    void_reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finalized_at = models.DateTimeField(null=True, blank=True)
    finalized_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    voided_at = models.DateTimeField(null=True, blank=True)

    objects = CompanyQuerySet.as_manager()
    # Not columns: set by selectors.with_details.
    contract_ids: list[int]
    line_list: list["InvoiceLine"]
    # Set by selectors.with_changes.
    previous_total: "Decimal | None"
    change_percent: "Decimal | None"
    flagged: bool

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["company", "number"], name="invoice_number_unique_per_company"
            ),
            models.CheckConstraint(
                condition=models.Q(status="draft") | models.Q(number__isnull=False),
                name="invoice_final_has_number",
            ),
        ]
        indexes = [models.Index(fields=["company", "run", "status"])]
        ordering = ["-period_start", "account__name", "id"]

    def __str__(self) -> str:
        return self.number or f"Draft {self.pk}"


class LineKind(models.TextChoices):
    RECURRING = "recurring", "Recurring"
    ADJUSTMENT = "adjustment", "Adjustment"
    ONE_OFF = "one_off", "One-off"


class InvoiceLine(models.Model):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField(default=0)
    kind = models.CharField(max_length=12, choices=LineKind.choices)
    description = models.CharField(max_length=300)
    explanation = models.CharField(max_length=500, blank=True)
    quantity = models.DecimalField(**UNITS)  # type: ignore[arg-type]
    unit_price = models.DecimalField(**MONEY)  # type: ignore[arg-type]
    # Days the line counts of the days of its period (both the whole period for a
    # one-off line): amount = quantity × unit price × days / period days, rounded once.
    days = models.PositiveIntegerField(default=1)
    period_days = models.PositiveIntegerField(default=1)
    amount = models.DecimalField(**MONEY)  # type: ignore[arg-type]
    tax = models.DecimalField(**MONEY)  # type: ignore[arg-type]
    tax_rate = models.DecimalField(max_digits=6, decimal_places=3, default=0)  # percent
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    # History outlives what it explains: a service with invoiced lines is only ended.
    service = models.ForeignKey(
        Service, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    contract = models.ForeignKey(
        Contract, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The unit changes (contracts.ServiceUnitChange ids) whose units the quantity is.
    unit_change_ids = models.JSONField(default=list, blank=True)
    removed = models.BooleanField(default=False)
    removed_reason = models.CharField(max_length=500, blank=True)
    # The rules' quantity when a person overrode it (null: not overridden).
    computed_quantity = models.DecimalField(null=True, blank=True, **UNITS)  # type: ignore[arg-type]
    override_note = models.CharField(max_length=500, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = CompanyQuerySet.as_manager()

    class Meta:
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["invoice", "position"])]

    def __str__(self) -> str:
        return self.description


class InvoiceContract(models.Model):
    """A contract's period on an invoice: the claim that makes a contract invoiced once
    per period (unique while `active`; a void or credited invoice gives it up), the
    rules' inputs recorded to recompute the invoice, and what it billed per (service,
    period) for the later invoices' adjustments."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="claims")
    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="+")
    period_start = models.DateField()
    period_end = models.DateField()
    active = models.BooleanField(default=True)
    # compute_invoice's arguments as JSON (selectors.inputs_to_json): terms, services,
    # invoiced, today.
    inputs = models.JSONField(default=dict)
    # [[service id, period start, period end, [[first day, units], …]], …]
    billed = models.JSONField(default=list)

    objects = CompanyQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "period_start"],
                condition=models.Q(active=True),
                name="contract_invoiced_once_per_period",
            )
        ]
        indexes = [models.Index(fields=["company", "period_start"])]

    def __str__(self) -> str:
        return f"Contract {self.contract_id} from {self.period_start}"


class InvoiceSequence(models.Model):
    """The company's invoice numbers of one year: `prefix` ("INV-{year}-") and the last
    number given. Finalizing locks this row, so numbers are gapless and unique."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    year = models.PositiveSmallIntegerField()
    prefix = models.CharField(max_length=30, default="INV-{year}-")
    last_number = models.PositiveIntegerField(default=0)

    objects = CompanyQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["company", "year"], name="invoice_sequence_per_year")
        ]

    def __str__(self) -> str:
        return f"{self.prefix} ({self.year})"
