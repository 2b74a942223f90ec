"""Forms of the account pages: they parse the request; the rules live in crm.services."""

from django import forms

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

    @classmethod
    def for_account(cls, account: Account, data=None) -> "AccountForm":
        initial = {name: getattr(account, name) for name in cls.base_fields}
        return cls(data, initial=initial)


class AccountFilterForm(forms.Form):
    STATUS_CHOICES = [("", "All"), ("active", "Active"), ("inactive", "Inactive")]

    name = forms.CharField(required=False, max_length=200, label="Account name")
    code = forms.CharField(required=False, max_length=40, label="Account code")
    status = forms.ChoiceField(required=False, choices=STATUS_CHOICES, label="Status")

    def filters(self) -> dict:
        """The selector's keyword arguments; a malformed filter is ignored, not an error."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        status = data.get("status") or ""
        return {
            "name": data.get("name") or None,
            "code": data.get("code") or None,
            "active": {"active": True, "inactive": False}.get(status),
        }
