"""Form helpers shared by every page."""

from collections.abc import Callable

from icb.common.errors import InvalidInput, ServiceError


def apply_errors(form, exc: ServiceError, aliases: dict | None = None) -> None:
    """Put a service error's messages on the form fields they name (`aliases` maps a
    service's field name to the form's); the rest go to the form as a whole."""
    aliases = aliases or {}
    for field, messages in exc.field_errors.items():
        name = aliases.get(field, field)
        for message in messages:
            form.add_error(name if name in form.fields else None, message)


def posted_values(form) -> dict:
    """What a bound form was given, per field: the cleaned value where the form accepted
    it, else the value as posted (for a service to judge the same input)."""
    cleaned = getattr(form, "cleaned_data", {})
    values = {}
    for name, field in form.fields.items():
        if name in cleaned:
            values[name] = cleaned[name]
        elif not field.disabled:
            values[name] = field.widget.value_from_datadict(
                form.data, form.files, form.add_prefix(name)
            )
    return values


def add_service_errors(form, check: Callable[[dict], object], aliases: dict | None = None) -> None:
    """A form that refused some fields still shows what the service says of the others,
    so one submit names every invalid field: `check` gets the posted values and raises
    the service's InvalidInput; its messages go onto the fields that show none yet (a
    field the form refused already says why)."""
    if not form.is_bound:
        return  # nothing was posted to judge
    aliases = aliases or {}
    try:
        check(posted_values(form))
    except InvalidInput as exc:
        for field, messages in exc.field_errors.items():
            name = aliases.get(field, field)
            if name in form.fields:
                if name not in form.errors:
                    for message in messages:
                        form.add_error(name, message)
            else:
                for message in messages:
                    if message not in form.non_field_errors():
                        form.add_error(None, message)


def make_read_only(form) -> None:
    """Show a form to a user who may only view: every control disabled, and Django
    ignores submitted values for disabled fields."""
    for field in form.fields.values():
        field.disabled = True
