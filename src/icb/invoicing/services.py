"""Use cases of invoicing's settings: the company's billing defaults and the revenue
account code of each module (what a contract, account or service without its own value
uses; docs/billing-rules.md)."""

from django.db import transaction

from icb.common.errors import InvalidInput
from icb.common.validation import FieldErrors, full_clean_or_raise, parse_percent
from icb.contracts.parsing import parse_choice, parse_payment_terms, parse_text
from icb.hub.models import Module
from icb.tenancy.models import BillingTiming, Company, Proration

DEFAULT_FIELDS = (
    "billing_timing",
    "proration",
    "payment_terms_days",
    "tax_rate",
    "revenue_account_code",
)
CODE_MAX_LENGTH = 40  # Module.revenue_account_code and Company.revenue_account_code


def _required_percent(value):
    rate = parse_percent(value, field="tax_rate", label="Tax rate")
    if rate is None:
        raise InvalidInput("Tax rate: enter a percentage (0 for none).", field="tax_rate")
    return rate


def _required_terms(value):
    days = parse_payment_terms(value)
    if days is None:
        raise InvalidInput("Payment terms: enter a number of days.", field="payment_terms_days")
    return days


def _code(value, *, field: str) -> str:
    code = parse_text(value, field=field)
    if len(code) > CODE_MAX_LENGTH:
        raise InvalidInput(f"Use at most {CODE_MAX_LENGTH} characters.", field=field)
    return code


PARSERS = {
    "billing_timing": lambda v: parse_choice(
        v, BillingTiming.choices, field="billing_timing", what="billing timing"
    ),
    "proration": lambda v: parse_choice(v, Proration.choices, field="proration", what="proration"),
    "payment_terms_days": _required_terms,
    "tax_rate": _required_percent,
    "revenue_account_code": lambda v: _code(v, field="revenue_account_code"),
}


def _parse(
    company: Company, module_codes: dict[int, str] | None, changes: dict
) -> tuple[dict, dict[int, str], dict[int, Module]]:
    """The changes and module codes parsed, or an InvalidInput naming every bad field."""
    unknown = sorted(set(changes) - set(DEFAULT_FIELDS))
    if unknown:
        raise InvalidInput(f"“{unknown[0]}” cannot be changed here.", field=unknown[0])
    errors = FieldErrors()
    parsed = {}
    for field, value in changes.items():
        before = len(errors.errors)
        result = errors.read(PARSERS[field], value)
        if len(errors.errors) == before:
            parsed[field] = result
    modules = {m.pk: m for m in Module.objects.for_company(company).filter(removed_at=None)}
    codes = {}
    for module_id, value in (module_codes or {}).items():
        if module_id not in modules:
            errors.add(InvalidInput("Unknown module.", field=f"module_{module_id}"))
            continue
        code = errors.read(_code, value, field=f"module_{module_id}")
        if code is not None:
            codes[module_id] = code
    errors.raise_if_any()
    return parsed, codes, modules


def billing_defaults_check(
    *, company: Company, module_codes: dict[int, str] | None = None, **changes
) -> None:
    """Check the values as billing_defaults_update would, saving nothing."""
    _parse(company, module_codes, changes)


def billing_defaults_update(
    *, company: Company, actor, module_codes: dict[int, str] | None = None, **changes
) -> Company:
    """Change the company's billing defaults and its modules' revenue account codes
    ({module id: code}); nothing is saved unless every value is valid."""
    parsed, codes, modules = _parse(company, module_codes, changes)
    with transaction.atomic():
        company = Company.objects.select_for_update().get(pk=company.pk)
        for field, value in parsed.items():
            setattr(company, field, value)
        full_clean_or_raise(company, validate_unique=False)
        company.save(update_fields=[*parsed] or None)
        for module_id, code in codes.items():
            if modules[module_id].revenue_account_code != code:
                modules[module_id].revenue_account_code = code
                modules[module_id].save(update_fields=["revenue_account_code"])
    return company
