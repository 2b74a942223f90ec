"""Validation shared by every app's services."""

from django.core.exceptions import ValidationError

from .errors import InvalidInput

# Ids are 64-bit; a larger number names nothing (and must not reach the database).
MAX_ID = 2**63 - 1


def _validation_to_invalid(exc: ValidationError) -> InvalidInput:
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    first = next(iter(errors.values()))[0]
    return InvalidInput(first, errors=errors)


def full_clean_or_raise(instance, **kwargs) -> None:
    """Model invariants are the one source of validation rules for forms and API alike."""
    try:
        instance.full_clean(**kwargs)
    except ValidationError as exc:
        raise _validation_to_invalid(exc) from None
