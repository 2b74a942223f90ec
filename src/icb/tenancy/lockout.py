"""The login lock-out policy, on top of django-axes (docs/operations.md "Login lock-out").

Failed logins are counted within the cool-off window in three scopes, each with its
own limit:

- an account from one address (``AXES_FAILURE_LIMIT``): someone guessing from one
  place; the account's owner elsewhere is not affected;
- an account from any address (``ICB_LOGIN_ACCOUNT_FAILURE_LIMIT``): guessing spread
  over many addresses;
- an address on any account (``ICB_LOGIN_ADDRESS_FAILURE_LIMIT``): password spraying;
  high enough that the colleagues behind one office address are not locked out by
  each other's typos.

While any scope is locked, every login it covers is refused before the password is
checked, the right password included, with the same answer as a wrong one.
"""

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum


def login_name(request, credentials: dict | None) -> str | None:
    """The account a login attempt is for (``AXES_USERNAME_CALLABLE``), spelled as it
    is stored, so "A@Example.com " counts for "a@example.com".

    Django passes the login form's ``username`` in the credentials (the backend check
    and the failure signal alike); the form data is the fallback."""
    value = None
    if credentials:
        value = credentials.get("username") or credentials.get("email")
    if value is None and request is not None:
        value = getattr(request, "POST", {}).get("username")
    if not isinstance(value, str):
        return None
    return value.strip().lower() or None


def client_address(request) -> str | None:
    """The address a login comes from (``AXES_CLIENT_IP_CALLABLE``): the connection's,
    or behind ``ICB_TRUSTED_PROXIES`` proxies the one the outermost of them saw. Each
    proxy appends the address it was called from to X-Forwarded-For, so that one is
    the n-th from the right; whatever a client puts in the header itself stays to the
    left of it and is ignored."""
    remote = request.META.get("REMOTE_ADDR")
    proxies = settings.ICB_TRUSTED_PROXIES
    if proxies <= 0:
        return remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    if not hops:
        return remote
    return hops[-proxies] if len(hops) >= proxies else hops[0]


def _failures(recent, **scope) -> int:
    return recent.filter(**scope).aggregate(total=Sum("failures_since_start"))["total"] or 0


class LockoutHandler(AxesDatabaseHandler):
    """Axes compares one failure count with one limit; this handler reports the limit
    itself when any scope has reached its own limit, and otherwise the count of the
    account from this address."""

    def get_failures(self, request, credentials: dict | None = None) -> int:
        username = get_client_username(request, credentials)
        address = request.axes_ip_address
        recent = AccessAttempt.objects.filter(attempt_time__gte=get_cool_off_threshold(request))
        pair_limit = get_failure_limit(request, credentials)
        pair = _failures(recent, username=username, ip_address=address)
        scopes = [(pair, pair_limit)]
        if username is not None:
            scopes.append(
                (_failures(recent, username=username), settings.ICB_LOGIN_ACCOUNT_FAILURE_LIMIT)
            )
        if address is not None:
            scopes.append(
                (_failures(recent, ip_address=address), settings.ICB_LOGIN_ADDRESS_FAILURE_LIMIT)
            )
        if any(count >= limit for count, limit in scopes):
            return max(pair, pair_limit)
        return pair
