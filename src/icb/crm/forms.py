"""Forms of the account pages: they parse the request; the rules live in crm.services."""

from django import forms

from .filters import AccountFilter
from .models import Account, account_code_validator


def _text(field_name: str, **kwargs) -> forms.CharField:
    model_field = Account._meta.get_field(field_name)
    kwargs.setdefault("required", False)
    kwargs.setdefault("label", model_field.verbose_name.capitalize())
    return forms.CharField(max_length=model_field.max_length, **kwargs)


class AccountForm(forms.Form):
    name = _text("name", required=True)
    code = _text(
        "code",
        required=True,
        validators=[account_code_validator],
        help_text="Unique in your company. Letters, digits, dots, dashes and underscores.",
    )
    is_active = forms.BooleanField(required=False, label="Active", initial=True)
    email = forms.EmailField(
        required=False, label="Email", max_length=Account._meta.get_field("email").max_length
    )
    phone = _text("phone")
    website = forms.URLField(
        required=False,
        label="Website",
        assume_scheme="https",
        max_length=Account._meta.get_field("website").max_length,
    )
    address_line1 = _text("address_line1")
    address_line2 = _text("address_line2")
    city = _text("city")
    region = _text("region")
    postal_code = _text("postal_code")
    country = _text("country")
    notes = forms.CharField(required=False, label="Notes", widget=forms.Textarea(attrs={"rows": 4}))
    tax_rate = forms.CharField(
        required=False,
        label="Tax rate (%)",
        max_length=10,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
        help_text="Percent, 0 allowed. Leave empty for the company's rate.",
    )
    accounting_contact_name = _text(
        "accounting_contact_name",
        label="Accounting contact",
        help_text="The contact name of this customer in your accounting system.",
    )

    def __init__(self, *args, company=None, **kwargs):
        super().__init__(*args, **kwargs)
        if company is not None:
            rate = format(company.tax_rate.normalize(), "f")
            field = self.fields["tax_rate"]
            field.widget.attrs["placeholder"] = rate
            field.help_text = f"Percent, 0 allowed. Leave empty for the company's rate ({rate} %)."

    @classmethod
    def for_account(cls, account: Account, data=None, *, company=None) -> "AccountForm":
        initial = {name: getattr(account, name) for name in cls.base_fields}
        return cls(data, initial=initial, company=company)


def _max_length(field_name: str) -> int:
    return next(m.max_length for m in AccountFilter.model_fields[field_name].metadata)


class AccountFilterForm(forms.Form):
    """Shows the account filters (accounts page, mapping page). What they accept is
    AccountFilter's to say, which the API parses too: this form only renders them and
    puts the messages of refused values next to their fields."""

    ACTIVE_CHOICES = [("", "All"), ("true", "Active"), ("false", "Inactive")]

    name = forms.CharField(
        required=False,
        label="Account name",
        widget=forms.TextInput(attrs={"maxlength": _max_length("name")}),
    )
    code = forms.CharField(
        required=False,
        label="Account code",
        widget=forms.TextInput(attrs={"maxlength": _max_length("code")}),
    )
    active = forms.CharField(
        required=False, label="Status", widget=forms.Select(choices=ACTIVE_CHOICES)
    )

    def filters(self) -> AccountFilter:
        """The filter of the request; a refused value is left out and its message shown."""
        account_filter, errors = AccountFilter.from_query(self.data)
        for field, messages in errors.items():
            for message in messages:
                self.add_error(field if field in self.fields else None, message)
        return account_filter
