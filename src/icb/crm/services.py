"""Use cases for CRM accounts: every write goes through here (pages, API, scripts)."""

from django.db import IntegrityError, transaction

from icb.common.errors import InvalidInput
from icb.common.validation import full_clean_or_raise, parse_percent
from icb.tenancy.models import Company, User

from .models import Account

# The fields a user may set; company, id and timestamps are never taken from input.
EDITABLE_FIELDS = (
    "name",
    "code",
    "is_active",
    "email",
    "phone",
    "website",
    "address_line1",
    "address_line2",
    "city",
    "region",
    "postal_code",
    "country",
    "notes",
    "tax_rate",
    "accounting_contact_name",
)
NOTES_MAX_LENGTH = 10_000
DUPLICATE_CODE = "An account with this code already exists."
# The error code of an answer whose only fault is a code already taken (a client may
# then suggest another code).
DUPLICATE_CODE_ERROR = "duplicate_code"


def _check_fields(fields: dict) -> None:
    unknown = sorted(set(fields) - set(EDITABLE_FIELDS))
    if unknown:
        raise InvalidInput(
            f"Unknown field: {unknown[0]}.", errors={f: ["Unknown field."] for f in unknown}
        )


def _normalize(account: Account) -> None:
    """Trim surrounding whitespace of every text field (notes keep their inner layout)."""
    for field in EDITABLE_FIELDS:
        value = getattr(account, field)
        if isinstance(value, str):
            setattr(account, field, value.strip())


def _validate(account: Account) -> None:
    errors: dict[str, list[str]] = {}
    try:
        # Empty: the company's tax rate.
        account.tax_rate = parse_percent(account.tax_rate, field="tax_rate", label="Tax rate")
    except InvalidInput as exc:
        errors.update(exc.field_errors)
    for field in EDITABLE_FIELDS:
        value = getattr(account, field)
        if field == "tax_rate":
            continue
        if value is None:
            errors[field] = ["This field cannot be null."]
        elif isinstance(value, str) and "\x00" in value:
            errors[field] = ["Null characters are not allowed."]
    if isinstance(account.notes, str) and len(account.notes) > NOTES_MAX_LENGTH:
        errors.setdefault("notes", []).append(
            f"Ensure this value has at most {NOTES_MAX_LENGTH} characters "
            f"(it has {len(account.notes)})."
        )
    if not errors:
        try:
            # Uniqueness is checked below, per company and ignoring case.
            full_clean_or_raise(
                account, exclude=["company"], validate_unique=False, validate_constraints=False
            )
        except InvalidInput as exc:
            errors = dict(exc.errors)
    if "code" not in errors and _code_taken(account):
        errors["code"] = [DUPLICATE_CODE]
    if errors:
        first = next(iter(errors.values()))[0]
        only_duplicate = errors == {"code": [DUPLICATE_CODE]}
        raise InvalidInput(
            first, errors=errors, code=DUPLICATE_CODE_ERROR if only_duplicate else None
        )


def _code_taken(account: Account) -> bool:
    if not isinstance(account.code, str) or not account.code:
        return False
    return (
        Account.objects.filter(company_id=account.company_id, code__iexact=account.code)
        .exclude(pk=account.pk)
        .exists()
    )


def _save(account: Account) -> Account:
    try:
        with transaction.atomic():
            account.save()
    except IntegrityError:
        # Another request saved the same code between our check and this save.
        if _code_taken(account):
            raise InvalidInput(DUPLICATE_CODE, field="code", code=DUPLICATE_CODE_ERROR) from None
        raise
    return account


def account_create(*, company: Company, actor: User | None, **fields) -> Account:
    """Create an account of `company`. Raises InvalidInput naming the fields at fault."""
    _check_fields(fields)
    account = Account(company=company, **fields)
    _normalize(account)
    _validate(account)
    return _save(account)


def account_check(*, company: Company, account: Account | None = None, **fields) -> None:
    """Check a new account's fields (or changes of `account`) without saving: an
    InvalidInput naming every invalid field, as creating or saving it would raise."""
    fields = {k: v for k, v in fields.items() if k in EDITABLE_FIELDS}
    draft = Account(company=company)
    if account is not None:
        draft.pk = account.pk
        for field in EDITABLE_FIELDS:
            setattr(draft, field, getattr(account, field))
    for field, value in fields.items():
        setattr(draft, field, value)
    _normalize(draft)
    _validate(draft)


def account_update(*, account: Account, actor: User | None, **changes) -> Account:
    """Change some fields of an account; nothing is saved unless every change is valid."""
    _check_fields(changes)
    original = {f: getattr(account, f) for f in EDITABLE_FIELDS}
    for field, value in changes.items():
        setattr(account, field, value)
    _normalize(account)
    try:
        _validate(account)
        return _save(account)
    except InvalidInput:
        # Leave the caller's object as it was, so a re-rendered page shows stored values.
        for field, value in original.items():
            setattr(account, field, value)
        raise
