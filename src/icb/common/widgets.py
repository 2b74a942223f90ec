"""A choice from a table that grows (accounts, contracts, organizations, users): a text
box that searches as you type, never one <option> per row.

The page renders only the current value's label; icb.js asks the list API named by
`search_url` (`?q=<text>&page_size=20`, answering a `Page` of items with an `id`, the
`item_label` key and, optionally, the `item_detail` key) and shows the matches as a
listbox to choose from with the keyboard or the mouse. The chosen id travels in a
hidden input under the field's name, so the form posts what a <select> would have.

Validation stays on the server: `SearchChoiceField` takes only an id of its queryset
(the company's rows a form may choose), anything else is the field's error."""

from collections.abc import Callable

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet

from .validation import parse_id

SEARCH_PAGE_SIZE = 20


class SearchSelect(forms.Widget):
    """A search-as-you-type box (role=combobox) and the hidden input holding the id."""

    template_name = "common/search_select.html"

    def __init__(
        self,
        attrs=None,
        *,
        search_url: str = "",
        item_label: str = "name",
        item_detail: str = "",
        placeholder: str = "Type to search…",
    ):
        super().__init__(attrs)
        self.search_url = search_url
        self.item_label = item_label
        self.item_detail = item_detail
        self.placeholder = placeholder
        # Set by SearchChoiceField: the label of an id (one query, for the current value).
        self.label_for: Callable[[int], str] = lambda pk: ""

    def format_value(self, value):
        pk = parse_id(value) if value not in (None, "") else None
        return "" if pk is None else str(pk)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        widget = context["widget"]
        pk = parse_id(widget["value"]) if widget["value"] else None
        widget["label"] = self.label_for(pk) if pk else ""
        if not widget["label"]:
            widget["value"] = ""  # an id the user may not choose is not shown as chosen
        widget["search_url"] = self.search_url
        widget["item_label"] = self.item_label
        widget["item_detail"] = self.item_detail
        widget["placeholder"] = self.placeholder
        widget["disabled"] = bool(widget["attrs"].get("disabled"))
        return context

    def value_from_datadict(self, data, files, name):
        return data.get(name)


class SearchChoiceField(forms.Field):
    """An id from `queryset` (set it per form: the rows this company may choose); the
    cleaned value is the int id. `label_from_instance` writes the label the page shows
    for the current value; icb.js writes a chosen item's label the same way: the item's
    `item_label`, then its `item_detail` in parentheses."""

    widget = SearchSelect
    default_error_messages = {"invalid_choice": "Choose one from the list."}

    def __init__(
        self,
        *,
        queryset: QuerySet | None = None,
        search_url: str = "",
        item_label: str = "name",
        item_detail: str = "",
        placeholder: str = "Type to search…",
        **kwargs,
    ):
        kwargs.setdefault(
            "widget",
            SearchSelect(
                search_url=search_url,
                item_label=item_label,
                item_detail=item_detail,
                placeholder=placeholder,
            ),
        )
        super().__init__(**kwargs)
        self.queryset = queryset
        self.item_label = item_label
        self.item_detail = item_detail

    def get_bound_field(self, form, field_name):
        # The form's own copy of the field and its widget: the label comes from this
        # form's queryset.
        self.widget.label_for = self.label_for
        return super().get_bound_field(form, field_name)

    def label_from_instance(self, obj: Model) -> str:
        label = str(getattr(obj, self.item_label))
        if self.item_detail:
            label += f" ({getattr(obj, self.item_detail)})"
        return label

    def _instance(self, pk: int) -> Model | None:
        if self.queryset is None:
            return None
        return self.queryset.filter(pk=pk).first()

    def label_for(self, pk: int) -> str:
        instance = self._instance(pk)
        return "" if instance is None else self.label_from_instance(instance)

    def to_python(self, value) -> int | None:
        if value in self.empty_values:
            return None
        pk = parse_id(value)
        if pk is None or self._instance(pk) is None:
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return pk

    def has_changed(self, initial, data) -> bool:
        def pk(value):
            return None if value in self.empty_values else parse_id(value)

        return pk(initial) != pk(data)
