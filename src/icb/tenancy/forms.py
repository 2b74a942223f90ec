from django import forms

from .models import Area, Level, Role
from .selectors import role_choices


class NoColonMixin:
    """Labels read “Email”, not “Email:” (screen readers and tests look for the words)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class RoleForm(NoColonMixin, forms.ModelForm):
    class Meta:
        model = Role
        fields = ["name", "description", *[a.value for a in Area]]
        widgets = {a.value: forms.RadioSelect(choices=Level.choices) for a in Area}


ROLE_PLACEHOLDER = "Choose a role…"


class UserCreateForm(NoColonMixin, forms.Form):
    email = forms.EmailField()
    full_name = forms.CharField(max_length=200, required=False, label="Full name")
    role = forms.ModelChoiceField(queryset=Role.objects.none(), empty_label=ROLE_PLACEHOLDER)
    password = forms.CharField(widget=forms.PasswordInput, label="Initial password", strip=False)

    def __init__(self, *args, company, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].queryset = role_choices(company=company)


class UserEditForm(NoColonMixin, forms.Form):
    full_name = forms.CharField(max_length=200, required=False, label="Full name")
    role = forms.ModelChoiceField(queryset=Role.objects.none(), empty_label=ROLE_PLACEHOLDER)
    is_active = forms.BooleanField(required=False, label="Active (may log in)")

    def __init__(self, *args, company, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].queryset = role_choices(company=company)


class ApiTokenForm(NoColonMixin, forms.Form):
    name = forms.CharField(
        max_length=100,
        label="Token name",
        help_text="What the token is for, e.g. “PSA export script”.",
    )
