"""Reads of roles, users and API tokens, always scoped to one company (pages, API and
forms all use these)."""

from django.db.models import Count, QuerySet

from icb.common.errors import NotFound
from icb.common.validation import MAX_ID

from .models import ApiToken, Company, Role, User


def _valid_id(value) -> int | None:
    return value if isinstance(value, int) and 0 < value <= MAX_ID else None


def role_list(*, company: Company) -> QuerySet[Role]:
    """The company's roles with their number of users, built-in roles first."""
    return (
        Role.objects.for_company(company)
        .annotate(user_count=Count("users"))
        .order_by("-built_in", "name")
    )


def role_choices(*, company: Company) -> QuerySet[Role]:
    """The roles a user of the company may be given."""
    return Role.objects.for_company(company)


def role_get(*, company: Company, role_id: int) -> Role:
    """The company's role with this id, or NotFound (also for another company's id)."""
    pk = _valid_id(role_id)
    role = Role.objects.for_company(company).filter(pk=pk).first() if pk else None
    if role is None:
        raise NotFound("Unknown role.")
    return role


def user_list(*, company: Company) -> QuerySet[User]:
    return User.objects.for_company(company).select_related("role")


def user_get(*, company: Company, user_id: int) -> User:
    """The company's user with this id, or NotFound (also for another company's id)."""
    pk = _valid_id(user_id)
    user = User.objects.for_company(company).filter(pk=pk).first() if pk else None
    if user is None:
        raise NotFound("Unknown user.")
    return user


def api_tokens_of(*, user: User) -> QuerySet[ApiToken]:
    """The user's own API tokens, newest first."""
    return ApiToken.objects.filter(user=user).order_by("-created_at")
