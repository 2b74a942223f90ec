"""Form helpers shared by every page."""

from icb.common.errors import ServiceError


def apply_errors(form, exc: ServiceError, aliases: dict | None = None) -> None:
    """Put a service error's messages on the form fields they name (`aliases` maps a
    service's field name to the form's); the rest go to the form as a whole."""
    aliases = aliases or {}
    for field, messages in (exc.errors or {"__all__": [exc.message]}).items():
        name = aliases.get(field, field)
        for message in messages:
            form.add_error(name if name in form.fields else None, message)


def make_read_only(form) -> None:
    """Show a form to a user who may only view: every control disabled, and Django
    ignores submitted values for disabled fields."""
    for field in form.fields.values():
        field.disabled = True
