from django import forms

from icb.events.types import EVENT_TYPES


class WebhookForm(forms.Form):
    url = forms.CharField(
        label="URL",
        max_length=500,
        help_text="Where ICB posts the events: http:// or https://, a public address.",
    )
    description = forms.CharField(
        label="Description", max_length=200, required=False, help_text="What receives them."
    )
    events = forms.MultipleChoiceField(
        label="Events",
        choices=[(code, f"{code} — {label}") for code, label in EVENT_TYPES.items()],
        widget=forms.CheckboxSelectMultiple,
        initial=list(EVENT_TYPES),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
