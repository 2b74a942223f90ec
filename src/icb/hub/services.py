"""Connecting to the hub, keeping its tokens fresh, and reading its module catalogue and
organization directory into the database."""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from icb.common.errors import Conflict, InvalidInput
from icb.tenancy.models import Company, User

from . import oauth
from .client import HubClient
from .crypto import decrypt, encrypt
from .errors import HubConnectionLost, HubError, HubUnauthorized
from .models import BillingType, HubConnection, HubState, Module, Organization

log = logging.getLogger(__name__)

# Refresh the access token this long before it expires.
TOKEN_MARGIN = timedelta(seconds=60)
# A sign-in started but not finished within this time is refused.
CONNECT_TIMEOUT = timedelta(minutes=10)


def hub_name() -> str:
    return settings.ICB_HUB_NAME


def connection_of(company: Company) -> HubConnection | None:
    return HubConnection.objects.filter(company=company).select_related("connected_by").first()


def is_connected(company: Company) -> bool:
    """Whether the company has a hub connection, working or broken (state_of says which)."""
    return HubConnection.objects.filter(company=company).exists()


def state_of(company: Company) -> HubState:
    state = HubConnection.objects.filter(company=company).values_list("state", flat=True).first()
    return HubState(state) if state else HubState.DISCONNECTED


def mark_broken(company: Company, reason: str) -> HubConnectionLost:
    """The hub refused the connection's tokens: record it as broken with the reason (the
    dispatcher then leaves the company's services alone, and nothing asks the hub until
    an administrator reconnects). Answers the error to raise."""
    updated = HubConnection.objects.filter(company=company).update(
        state=HubState.BROKEN, last_error=reason, last_error_at=timezone.now()
    )
    if updated:
        log.warning("Hub connection of company %s is broken: %s", company.pk, reason)
    return HubConnectionLost(reason)


# --- connecting --------------------------------------------------------------------------


def start_connect(*, user: User, redirect_uri: str) -> tuple[str, dict]:
    """The hub's authorization URL, and the state to keep in the user's session until
    the hub sends the browser back."""
    if not user.is_administrator:
        raise InvalidInput("Only administrators may connect the hub.")
    state = secrets.token_urlsafe(24)
    verifier = secrets.token_urlsafe(64)
    url = oauth.authorization_url(redirect_uri=redirect_uri, state=state, code_verifier=verifier)
    pending = {
        "state": state,
        "verifier": verifier,
        "company_id": user.company_id,
        "redirect_uri": redirect_uri,
        "started": timezone.now().timestamp(),
    }
    return url, pending


def complete_connect(*, user: User, pending: dict | None, params: dict) -> HubConnection:
    """Finish the sign-in the hub sent the browser back from. Raises InvalidInput with a
    message for the person; stores nothing unless every step worked. Over a broken
    connection, this is its reconnect: the same row, so every mapping stays."""
    name = hub_name()
    reconnect = user.company is not None and state_of(user.company) == HubState.BROKEN
    again = "Use Reconnect to start again." if reconnect else "Turn the switch on to start again."
    if params.get("error"):
        if params["error"] == "access_denied":
            raise InvalidInput(
                f"Sign-in to {name} was cancelled; the connection is still lost."
                if reconnect
                else f"Sign-in to {name} was cancelled; the hub is not connected."
            )
        raise InvalidInput(f"{name} reported an error during sign-in ({params['error'][:60]}).")
    if not pending:
        raise InvalidInput(f"This sign-in to {name} was already completed or has expired. {again}")
    if not secrets.compare_digest(str(params.get("state", "")), pending["state"]):
        raise InvalidInput(
            f"The answer from {name} did not match this sign-in (state mismatch). {again}"
        )
    if pending.get("company_id") != user.company_id or not user.is_administrator:
        raise InvalidInput("Only administrators may connect the hub.")
    if timezone.now().timestamp() - pending["started"] > CONNECT_TIMEOUT.total_seconds():
        raise InvalidInput(f"The sign-in to {name} took too long. {again}")
    code = params.get("code")
    if not code:
        raise InvalidInput(f"{name} did not send a sign-in code.")
    try:
        tokens = oauth.exchange_code(
            code=code, code_verifier=pending["verifier"], redirect_uri=pending["redirect_uri"]
        )
    except HubError as exc:
        raise InvalidInput(exc.message) from None
    with transaction.atomic():
        # A reconnect keeps the row, so the directory and every mapping stay as they are.
        connection, _ = HubConnection.objects.select_for_update().update_or_create(
            company=user.company,
            defaults=dict(
                connected_at=timezone.now(),
                connected_by=user,
                state=HubState.CONNECTED,
                last_error="",
                last_error_at=None,
                **_token_fields(tokens),
            ),
        )
    return connection


def _token_fields(tokens: oauth.TokenSet) -> dict:
    expires = timezone.now() + timedelta(seconds=tokens.expires_in) if tokens.expires_in else None
    return dict(
        access_token_encrypted=encrypt(tokens.access_token),
        refresh_token_encrypted=encrypt(tokens.refresh_token),
        access_token_expires_at=expires,
        scope=tokens.scope[:200],
    )


def disconnect(*, company: Company) -> bool:
    """Revoke the tokens at the hub (best effort) and forget them. The directory stays:
    mappings refer to it."""
    with transaction.atomic():
        connection = HubConnection.objects.select_for_update().filter(company=company).first()
        if connection is None:
            return False
        refresh_token = decrypt(connection.refresh_token_encrypted)
        access_token = decrypt(connection.access_token_encrypted)
        connection.delete()
    if refresh_token:
        oauth.revoke_token(refresh_token, "refresh_token")
    if access_token:
        oauth.revoke_token(access_token, "access_token")
    return True


# --- tokens ----------------------------------------------------------------------------


def access_token(company: Company, *, force_refresh: bool = False) -> str:
    """A valid access token, refreshed first when it is about to expire. The row lock
    makes concurrent workers refresh once and share the result (the hub rotates
    refresh tokens, so a second refresh with the old one would fail).

    A refresh token the hub refuses breaks the connection (mark_broken: the reason is
    `last_error`, the hub page shows it, the row stays); a broken connection raises
    HubConnectionLost at once, without asking the hub, until it is reconnected. A refresh
    that failed twice for another reason is recorded in `last_error` too."""
    connection = HubConnection.objects.filter(company=company).first()
    if connection is None:
        raise HubUnauthorized(f"{hub_name()} is not connected.")
    if connection.state == HubState.BROKEN:
        raise HubConnectionLost(connection.last_error)
    if not force_refresh and not _expiring(connection):
        token = decrypt(connection.access_token_encrypted)
        if token:
            return token
    seen = connection.access_token_encrypted
    failure: HubError | None = None
    with transaction.atomic():
        connection = HubConnection.objects.select_for_update().filter(company=company).first()
        if connection is None:
            raise HubUnauthorized(f"{hub_name()} is not connected.")
        if connection.state == HubState.BROKEN:  # another process found it refused
            raise HubConnectionLost(connection.last_error)
        if connection.access_token_encrypted != seen and not _expiring(connection):
            return decrypt(connection.access_token_encrypted)  # another process refreshed
        refresh_token = decrypt(connection.refresh_token_encrypted)
        try:
            if not refresh_token:
                raise HubUnauthorized(f"{hub_name()} gave us no refresh token to renew with.")
            tokens = _refresh(refresh_token)
        except HubUnauthorized as exc:
            # Recorded (and committed) so the pages show why syncing stopped.
            failure = mark_broken(company, exc.message)
        except HubError as exc:
            if exc.code != REFRESH_FAILED:
                raise  # passing trouble (hub down, slow): nothing to record
            failure = exc
            connection.last_error, connection.last_error_at = exc.message, timezone.now()
            connection.save(update_fields=["last_error", "last_error_at"])
        else:
            for field, value in _token_fields(tokens).items():
                setattr(connection, field, value)
            if not tokens.refresh_token:  # a hub that does not rotate keeps the old one
                connection.refresh_token_encrypted = encrypt(refresh_token)
            if REFRESH_TROUBLE in connection.last_error:  # solved by this refresh
                connection.last_error, connection.last_error_at = "", None
            connection.state = HubState.CONNECTED
            connection.save()
            token = tokens.access_token
    if failure is not None:
        raise failure
    return token


# A refresh that failed although it was tried twice; its message names the trouble.
REFRESH_FAILED = "refresh_failed"
REFRESH_TROUBLE = "did not answer a token refresh readably"


def _refresh(refresh_token: str) -> oauth.TokenSet:
    """Refresh; when the answer was lost (garbled, cut short, cut off), try once more
    with the same refresh token: the hub may have rotated it already, and hubs that
    allow a grace period for rotation accept it again. A refusal then (HubUnauthorized)
    breaks the connection; the message says what happened."""
    try:
        return oauth.refresh_tokens(refresh_token)
    except HubError as exc:
        if exc.code != oauth.REFRESH_ANSWER_LOST:
            raise
        lost = exc
    log.warning("Token refresh answer lost (%s); trying once more", lost.message)
    name = hub_name()
    try:
        return oauth.refresh_tokens(refresh_token)
    except HubUnauthorized:
        raise HubUnauthorized(
            f"{lost.message} {name} then refused the refresh token we hold (it had "
            "replaced it already)."
        ) from None
    except HubError as exc:
        if exc.code == "deadline":  # a manual sync's time limit ran out: passing trouble
            raise
        raise HubError(
            f"{lost.message} A second try failed too: {exc.message} If this goes on, "
            f"reconnect {name} on its page.",
            code=REFRESH_FAILED,
        ) from None


def _expiring(connection: HubConnection) -> bool:
    expires = connection.access_token_expires_at
    return expires is not None and expires - TOKEN_MARGIN <= timezone.now()


def hub_client(company: Company) -> HubClient:
    """An API client for the company's hub that renews its token once on a 401; a 401
    right after that breaks the connection (mark_broken)."""
    return HubClient(
        access_token(company),
        renew_token=lambda: access_token(company, force_refresh=True),
        refused=lambda reason: mark_broken(company, reason),
    )


# --- the directory ---------------------------------------------------------------------


def refresh_directory(*, company: Company) -> dict:
    """Read every module, billing type and organization from the hub, then store them in
    one transaction. Nothing is written unless everything was read: a failure leaves the
    previous directory intact and is recorded on the connection."""
    if not is_connected(company):
        raise Conflict(f"{hub_name()} is not connected.", code="hub_not_connected")
    try:
        with hub_client(company) as api:
            modules = api.modules()
            organizations = {
                m.code: [o for page in api.organization_pages(m.code) for o in page]
                for m in modules
            }
    except HubConnectionLost:
        raise  # its reason is recorded already
    except HubError as exc:
        HubConnection.objects.filter(company=company).update(
            last_error=exc.message, last_error_at=timezone.now()
        )
        raise
    now = timezone.now()
    with transaction.atomic():
        stored = _store_modules(company, modules, now)
        counts = {}
        for module_info in modules:
            module = stored[module_info.code]
            counts[module.code] = _store_organizations(
                company, module, organizations[module.code], now
            )
        HubConnection.objects.filter(company=company).update(
            last_refresh_at=now, last_error="", last_error_at=None
        )
    return counts


def _store_modules(company: Company, modules, now) -> dict[str, Module]:
    Module.objects.bulk_create(
        [
            Module(
                company=company,
                code=m.code,
                name=m.name[:200],
                removed_at=None,
                organizations_refreshed_at=now,
            )
            for m in modules
        ],
        update_conflicts=True,
        unique_fields=["company", "code"],
        update_fields=["name", "removed_at", "organizations_refreshed_at"],
    )
    Module.objects.filter(company=company, removed_at__isnull=True).exclude(
        code__in=[m.code for m in modules]
    ).update(removed_at=now)
    stored = {m.code: m for m in Module.objects.filter(company=company)}
    types = [
        BillingType(
            module=stored[m.code], code=b.code, name=b.name[:200], unit=b.unit[:40], removed_at=None
        )
        for m in modules
        for b in m.billing_types
    ]
    BillingType.objects.bulk_create(
        types,
        update_conflicts=True,
        unique_fields=["module", "code"],
        update_fields=["name", "unit", "removed_at"],
    )
    for m in modules:
        BillingType.objects.filter(module=stored[m.code], removed_at__isnull=True).exclude(
            code__in=[b.code for b in m.billing_types]
        ).update(removed_at=now)
    return stored


def _store_organizations(company: Company, module: Module, organizations, now) -> dict:
    # Inserted rows appear now, unless this is the module's first read; the upsert never
    # updates `appeared_at`, so a known organization keeps its own.
    first_read = not Organization.objects.filter(module=module).exists()
    appeared_at = None if first_read else now
    rows = {}
    for org in organizations:  # the last occurrence of a repeated id wins
        rows[org.id] = Organization(
            company=company,
            module=module,
            external_id=org.id[:128],
            name=org.name[:300],
            parent_external_id=(org.parent_id or "")[:128],
            status=_status(org.status),
            removed_at=None,
            seen_at=now,
            appeared_at=appeared_at,
        )
    Organization.objects.bulk_create(
        rows.values(),
        batch_size=2000,
        update_conflicts=True,
        unique_fields=["module", "external_id"],
        update_fields=["name", "parent_external_id", "status", "removed_at", "seen_at"],
    )
    removed = Organization.objects.filter(
        module=module, removed_at__isnull=True, seen_at__lt=now
    ).update(removed_at=now)
    return {"organizations": len(rows), "removed": removed}


def _status(value: str) -> str:
    return value if value in ("active", "inactive", "cancelled") else "inactive"
