"""Reads of CRM accounts, shared by the pages and the API."""

from django.db.models import QuerySet

from icb.common.errors import NotFound
from icb.common.validation import MAX_ID
from icb.tenancy.models import Company

from .models import Account


def _clean_filter(value: str | None) -> str:
    # NUL characters cannot be sent to PostgreSQL; nothing stored contains them anyway.
    return (value or "").replace("\x00", "").strip()


def accounts_of(*, company: Company) -> QuerySet[Account]:
    """Every lookup of an account starts here, so another company's account is never found."""
    return Account.objects.for_company(company)


def account_list(
    *,
    company: Company,
    name: str | None = None,
    code: str | None = None,
    active: bool | None = None,
) -> QuerySet[Account]:
    """The accounts of a company, filtered, in name order.

    name and code are case-insensitive "contains" filters; active is True, False or
    None (both). Served by the (company, name) and (company, is_active, name) indexes,
    and meant to be paginated by the caller."""
    qs = accounts_of(company=company)
    name = _clean_filter(name)
    code = _clean_filter(code)
    if name:
        qs = qs.filter(name__icontains=name)
    if code:
        qs = qs.filter(code__icontains=code)
    if active is not None:
        qs = qs.filter(is_active=active)
    return qs.order_by("name", "id")


def account_get(*, company: Company, account_id: int) -> Account:
    """The company's account with this id, or NotFound (also for another company's id)."""
    if not isinstance(account_id, int) or not 0 < account_id <= MAX_ID:
        raise NotFound("Unknown account.")
    try:
        return accounts_of(company=company).get(pk=account_id)
    except Account.DoesNotExist:
        raise NotFound("Unknown account.") from None
