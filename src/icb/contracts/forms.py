"""Page forms. They only collect and shape input; the rules live in services.py, whose
errors are put back next to the fields they name (icb.common.forms.apply_errors)."""

from django import forms
from django.urls import reverse_lazy

from icb.common.forms import make_read_only
from icb.common.money import CURRENCY_CHOICES
from icb.common.widgets import SearchChoiceField
from icb.tenancy.models import BillingTiming, Company, Proration

from .models import BillingFrequency, ContractStatus


class AccessibleForm(forms.Form):
    """A form that can render read-only for users who may only view. (Django marks a
    field with errors aria-invalid and points its aria-describedby at the help text and
    the error list, whose id is "<field id>_error".)"""

    def __init__(self, *args, read_only: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if read_only:
            make_read_only(self)


DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DECIMAL_ATTRS = {"inputmode": "decimal", "autocomplete": "off", "spellcheck": "false"}


class ContractForm(AccessibleForm):
    # Searched as you type (the company may have tens of thousands of accounts): the page
    # holds only the current account; the view sets the queryset it may be chosen from.
    account_id = SearchChoiceField(
        label="Account",
        search_url=reverse_lazy("api:list_account_options"),
        item_label="name",
        item_detail="code",
        placeholder="Type a name or code…",
        error_messages={
            "required": "Choose an account.",
            "invalid_choice": "Choose an active account from the list.",
        },
    )
    name = forms.CharField(label="Contract name", max_length=200)
    start_date = forms.DateField(label="Start date", widget=DATE_WIDGET)
    end_date = forms.DateField(
        label="End date",
        required=False,
        widget=DATE_WIDGET,
        help_text="Leave empty for a contract that runs until ended.",
    )
    billing_frequency = forms.ChoiceField(
        label="Billing frequency", choices=BillingFrequency.choices
    )
    currency = forms.ChoiceField(label="Currency", choices=CURRENCY_CHOICES)
    status = forms.ChoiceField(label="Status", choices=ContractStatus.choices)
    billing_timing = forms.ChoiceField(label="Billing timing", required=False)
    proration = forms.ChoiceField(label="Proration", required=False)
    payment_terms_days = forms.CharField(
        label="Payment terms (days)",
        required=False,
        max_length=3,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )

    def __init__(self, *args, accounts=None, company: Company, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account_id"].queryset = accounts
        # Empty: the company's default, named so the value in effect is always shown.
        for name, choices in (("billing_timing", BillingTiming), ("proration", Proration)):
            default = choices(getattr(company, name)).label
            self.fields[name].choices = [("", f"Company default: {default}"), *choices.choices]
        self.fields[
            "payment_terms_days"
        ].help_text = f"Leave empty for the company default ({company.payment_terms_days} days)."


class ServiceForm(AccessibleForm):
    # When a change of units takes effect sits next to the units.
    field_order = [
        "name",
        "unit_price",
        "units",
        "effective_date",
        "start_date",
        "end_date",
        "revenue_account_code",
        "description",
    ]
    name = forms.CharField(label="Service name", max_length=200)
    unit_price = forms.CharField(
        label="Unit price",
        max_length=40,
        widget=forms.TextInput(attrs=DECIMAL_ATTRS),
        help_text="In the contract's currency, at most two decimal places.",
    )
    units = forms.CharField(
        label="Units",
        max_length=40,
        widget=forms.TextInput(attrs=DECIMAL_ATTRS),
        help_text="Zero or more, at most two decimal places.",
    )
    description = forms.CharField(
        label="Description",
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    # Only on an existing service's form (`dated=True`): when changed units count from.
    effective_date = forms.DateField(
        label="Effective from",
        required=False,
        widget=DATE_WIDGET,
        help_text="When a change of units takes effect; empty: today.",
    )
    start_date = forms.DateField(
        label="Start date",
        required=False,
        widget=DATE_WIDGET,
        help_text="The first day billed. Empty: the day it is added.",
    )
    end_date = forms.DateField(
        label="End date",
        required=False,
        widget=DATE_WIDGET,
        help_text="The last day billed. Empty: until ended.",
    )
    revenue_account_code = forms.CharField(
        label="Revenue account code",
        required=False,
        max_length=40,
        help_text="For accounting exports. Empty: the module's code, else the company's.",
    )

    def __init__(self, *args, currency: str = "", dated: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not dated:
            del self.fields["effective_date"]
        if currency:
            self.fields["unit_price"].label = f"Unit price ({currency})"
