"""Use cases for companies, users, roles and API tokens."""

import hashlib
import secrets

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from icb.common.errors import InvalidInput, NotFound
from icb.common.validation import full_clean_or_raise

from .models import ApiToken, Area, Company, Level, Role, User
from .permissions import require_may_change, require_may_grant

TOKEN_PREFIX = "icb_"

# Built-in roles every company starts with; an MSP can add its own.
BUILT_IN_ROLES: dict[str, dict[str, bool | str]] = {
    "Administrator": dict(
        is_administrator=True,
        description="Everything, including connecting the hub and managing security.",
        **{a.value: Level.MODIFY for a in Area},
    ),
    "Finance": dict(
        description="Manages accounts, contracts, mappings, billing review and invoicing.",
        crm_accounts=Level.MODIFY,
        contracts=Level.MODIFY,
        hub_settings=Level.MODIFY,
        security=Level.NONE,
        billing_review=Level.MODIFY,
        invoicing=Level.MODIFY,
    ),
    "Read-only": dict(
        description="Sees accounts, contracts and mappings; changes nothing.",
        crm_accounts=Level.VIEW,
        contracts=Level.VIEW,
        hub_settings=Level.VIEW,
        security=Level.NONE,
        billing_review=Level.VIEW,
        invoicing=Level.VIEW,
    ),
}


@transaction.atomic
def bootstrap_company(
    *, name: str, time_zone: str, email: str, password: str, currency: str = "USD"
) -> tuple[Company, User, bool]:
    """Create (or find) a company with its built-in roles and an administrator.
    Idempotent: running it again changes nothing and returns created=False."""
    company = Company.objects.filter(name=name).first()
    created = company is None
    if company is None:
        company = Company(name=name, time_zone=time_zone, currency=currency)
        full_clean_or_raise(company)
        company.save()
    roles = ensure_built_in_roles(company)
    user = User.objects.filter(email=email.lower()).first()
    if user is None:
        user = User(
            email=email.lower(),
            company=company,
            role=roles["Administrator"],
            full_name="Administrator",
        )
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise InvalidInput(" ".join(exc.messages), field="password") from None
        user.set_password(password)
        user.save()
        created = True
    elif user.company_id != company.id:
        raise InvalidInput("This email belongs to a user of another company.", field="email")
    return company, user, created


def ensure_built_in_roles(company: Company) -> dict[str, Role]:
    roles = {}
    for name, fields in BUILT_IN_ROLES.items():
        role, _ = Role.objects.get_or_create(
            company=company, name=name, defaults={**fields, "built_in": True}
        )
        roles[name] = role
    return roles


def role_save(*, company: Company, actor: User | None, role: Role | None = None, **fields) -> Role:
    """`actor` is the user making the change (None: the product itself, e.g. a command)."""
    role = role or Role(company=company)
    if role.built_in:
        raise InvalidInput("Built-in roles cannot be changed; create a new role.", field="name")
    stored = Role.objects.filter(pk=role.pk).first() if role.pk else None
    if stored is not None and actor is not None:
        require_may_change(actor, stored, "role")
    for key, value in fields.items():
        setattr(role, key, value)
    role.is_administrator = False  # only the built-in Administrator role is one
    if actor is not None:
        require_may_grant(actor, role)  # the levels it is given
    full_clean_or_raise(role, validate_unique=False)
    if Role.objects.filter(company=company, name__iexact=role.name).exclude(pk=role.pk).exists():
        raise InvalidInput("A role with this name already exists.", field="name")
    role.save()
    return role


def user_create(
    *, company: Company, actor: User | None, email: str, full_name: str, role: Role, password: str
) -> User:
    """`actor` is the user creating it (None: the product itself, e.g. a command)."""
    if role.company_id != company.id:
        raise NotFound("Unknown role.", field="role")
    if actor is not None:
        require_may_grant(actor, role)
    email = (email or "").strip().lower()
    user = User(email=email, full_name=full_name, company=company, role=role)
    full_clean_or_raise(user, exclude=["password"])
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise InvalidInput(" ".join(exc.messages), field="password") from None
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise InvalidInput("A user with this email already exists.", field="email") from None
    return user


def user_update(*, user: User, full_name: str, role: Role, is_active: bool, actor: User) -> User:
    if role.company_id != user.company_id:
        raise NotFound("Unknown role.", field="role")
    current = Role.objects.filter(users__pk=user.pk).first() if user.pk else None  # as stored
    if current is not None:
        require_may_change(actor, current, "user")
    require_may_grant(actor, role)
    losing_admin = not (is_active and role.is_administrator)
    if user.pk == actor.pk and user.is_administrator and losing_admin:
        raise InvalidInput("You cannot remove your own administrator access.", field="role")
    user.full_name = full_name
    user.role = role
    user.is_active = is_active
    full_clean_or_raise(user, exclude=["password"])
    user.save()
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def api_token_create(*, user: User, name: str) -> tuple[ApiToken, str]:
    """Returns the token row and the token itself, which is never stored and shown once."""
    name = (name or "").strip() or "API token"
    secret = secrets.token_urlsafe(32)
    raw = f"{TOKEN_PREFIX}{secret}"
    token = ApiToken(user=user, name=name[:100], prefix=raw[:12], digest=_digest(raw))
    token.save()
    return token, raw


def api_token_revoke(*, user: User, token_id: int) -> None:
    token = ApiToken.objects.filter(user=user, pk=token_id).first()
    if token is None:
        raise NotFound("Unknown token.")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])


def api_token_user(raw: str) -> User | None:
    """The active user owning an active token, or None."""
    if not raw or not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    token = (
        ApiToken.objects.select_related("user__company", "user__role")
        .filter(digest=_digest(raw), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active or token.user.company_id is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
