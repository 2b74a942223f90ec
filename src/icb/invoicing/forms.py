"""The billing defaults form: it collects input; invoicing.services decides."""

from django import forms

from icb.tenancy.models import BillingTiming, Proration

NUMBER_ATTRS = {"autocomplete": "off", "spellcheck": "false"}


class BillingDefaultsForm(forms.Form):
    billing_timing = forms.ChoiceField(
        label="Billing timing",
        choices=BillingTiming.choices,
        help_text="In advance: each period is invoiced at its start. In arrears: once it ends.",
    )
    proration = forms.ChoiceField(
        label="Proration",
        choices=Proration.choices,
        help_text="Daily: changes inside a period are billed by the day.",
    )
    payment_terms_days = forms.CharField(
        label="Payment terms (days)",
        max_length=3,
        widget=forms.TextInput(attrs={"inputmode": "numeric", **NUMBER_ATTRS}),
    )
    tax_rate = forms.CharField(
        label="Tax rate (%)",
        max_length=10,
        widget=forms.TextInput(attrs={"inputmode": "decimal", **NUMBER_ATTRS}),
        help_text="For accounts without their own rate. 0 for none.",
    )
    revenue_account_code = forms.CharField(
        label="Revenue account code",
        max_length=40,
        required=False,
        help_text="For services whose module has no code of its own.",
    )
