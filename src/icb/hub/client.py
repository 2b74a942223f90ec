"""The only code that talks to the hub over HTTP (protocol: docs/hub-protocol.md).

Every answer is validated before anything else sees it: a body that is not JSON, is
cut short, or does not have the documented shape raises HubError, so bad data from
the hub never reaches the database."""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache

import certifi
import httpx
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oauth2.rfc6749.errors import OAuth2Error
from django.conf import settings
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

log = logging.getLogger(__name__)

USAGE_IDS_PER_REQUEST = 1000
# No directory read takes more pages than this (5 million organizations at the
# protocol's default page size): a hub that keeps paging past it is stopped.
ORGANIZATION_PAGES_MAX = 5000


class HubError(Exception):
    """A failure talking to the hub, with a message a person understands."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "hub_error",
        retryable: bool = True,
        retry_after: float | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.code = code
        self.retryable = retryable
        self.retry_after = retry_after


class HubUnauthorized(HubError):
    def __init__(self, message: str | None = None):
        super().__init__(
            message or f"{settings.ICB_HUB_NAME} refused our credentials; reconnect the hub.",
            code="unauthorized",
            retryable=False,
        )


# --- a time limit on every hub request of a piece of work -----------------------------

# (deadline on time.monotonic(), the limit in seconds) of the work in progress, if any.
_limit: ContextVar[tuple[float, float] | None] = ContextVar("hub_time_limit", default=None)


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Bound every hub request made inside, token requests included, by one deadline:
    each request's timeout and every wait between attempts fit in what is left, and the
    retries stop when it has passed (HubError, code "deadline"). For work done while a
    person waits, in a web request that the web server ends after a fixed time."""
    token = _limit.set((time.monotonic() + seconds, seconds))
    try:
        yield
    finally:
        _limit.reset(token)


def _time_left() -> float | None:
    limit = _limit.get()
    return None if limit is None else limit[0] - time.monotonic()


def _timeout() -> float:
    """One request's timeout: the configured one, within the time limit if any."""
    left = _time_left()
    timeout = float(settings.ICB_HUB_TIMEOUT)
    return timeout if left is None else max(0.0, min(timeout, left))


def _time_limit_error() -> HubError:
    limit = _limit.get()
    assert limit is not None
    return HubError(
        f"{settings.ICB_HUB_NAME} did not answer within {limit[1]:g} seconds", code="deadline"
    )


def _deadline_passed() -> HubError | None:
    """The error to raise when the time limit has passed (None while it has not)."""
    left = _time_left()
    return _time_limit_error() if left is not None and left <= 0 else None


# --- the shapes of the hub's answers -------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class BillingTypeInfo(_Strict):
    code: str
    name: str
    unit: str = ""


class ModuleInfo(_Strict):
    code: str
    name: str
    billing_types: list[BillingTypeInfo]


class _ModulesPage(_Strict):
    modules: list[ModuleInfo]


class OrganizationInfo(_Strict):
    id: str
    name: str
    parent_id: str | None = None
    status: str = "active"

    @field_validator("id", "parent_id", mode="before")
    @classmethod
    def _ids_as_text(cls, value):
        return str(value) if isinstance(value, int) else value


class _OrganizationsPage(_Strict):
    organizations: list[OrganizationInfo]
    next_cursor: str | None = None


class UsageRow(_Strict):
    organization_id: str
    billing_type: str
    quantity: Decimal
    measured_at: datetime

    @field_validator("quantity", mode="before")
    @classmethod
    def _exact_quantity(cls, value):
        # Floats would round; the protocol sends decimal strings (integers tolerated).
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise ValueError("quantity must be a decimal string")
        try:
            quantity = Decimal(str(value))
        except InvalidOperation:
            raise ValueError("quantity is not a number") from None
        if not quantity.is_finite() or quantity < 0:
            raise ValueError("quantity must be a finite number ≥ 0")
        return quantity


class _UsagePage(_Strict):
    module: str
    usage: list[UsageRow]
    missing: list[str] = []
    next_cursor: str | None = None


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str
    expires_in: int | None
    scope: str


@dataclass
class UsageResult:
    quantities: dict[tuple[str, str], Decimal]
    measured_at: dict[tuple[str, str], datetime]
    missing: set[str]


# --- OAuth 2 (authorization code with PKCE) -------------------------------------------


def _oauth_client(redirect_uri: str | None = None) -> OAuth2Client:
    oauth = OAuth2Client(
        client_id=settings.ICB_HUB_CLIENT_ID,
        client_secret=settings.ICB_HUB_CLIENT_SECRET,
        redirect_uri=redirect_uri,
        scope="hub.read",
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
        timeout=_timeout(),
    )
    oauth.register_compliance_hook("access_token_response", _token_endpoint_trouble)
    oauth.register_compliance_hook("refresh_token_response", _token_endpoint_trouble)
    return oauth


def _token_endpoint_trouble(response: httpx.Response) -> httpx.Response:
    """A token endpoint that is failing or rate-limiting is not refusing us: say so,
    with the status, as something to try again (before the body is read as a token)."""
    name, status = settings.ICB_HUB_NAME, response.status_code
    if status == 429:
        raise HubError(
            f"{name} is rate-limiting token requests (HTTP 429). Try again in a moment.",
            code="rate_limited",
            retry_after=_retry_after(response.headers.get("Retry-After")),
        )
    if status >= 500:
        raise HubError(
            f"{name} answered with an error (HTTP {status}) when asked for a token. "
            "Try again in a moment.",
            code="server_error",
        )
    return response


def _hub_url(path: str) -> str:
    return settings.ICB_HUB_URL.rstrip("/") + path


def authorization_url(*, redirect_uri: str, state: str, code_verifier: str) -> str:
    with _oauth_client(redirect_uri) as client:
        url, _ = client.create_authorization_url(
            _hub_url("/oauth/authorize"), state=state, code_verifier=code_verifier
        )
    return url


def _token_set(token: dict) -> TokenSet:
    if not token.get("access_token"):
        raise HubError(f"{settings.ICB_HUB_NAME} did not return an access token.", retryable=False)
    expires_in = token.get("expires_in")
    return TokenSet(
        access_token=token["access_token"],
        refresh_token=token.get("refresh_token") or "",
        expires_in=int(expires_in) if expires_in else None,
        scope=token.get("scope") or "",
    )


def _oauth_failure(exc: Exception) -> HubError:
    name = settings.ICB_HUB_NAME
    if isinstance(exc, httpx.TimeoutException):
        return _deadline_passed() or HubError(
            f"{name} did not answer in time. Try again in a moment."
        )
    if isinstance(exc, httpx.TransportError):
        return HubError(
            f"{name} could not be reached at {settings.ICB_HUB_URL}. "
            "Check that it is running and the address is right."
        )
    error = getattr(exc, "error", "") or ""
    if error == "invalid_client":
        return HubError(
            f"{name} did not accept this product's client id or secret. "
            "Check ICB_HUB_CLIENT_ID and ICB_HUB_CLIENT_SECRET.",
            code="invalid_client",
            retryable=False,
        )
    if error == "invalid_grant":
        return HubError(
            f"{name} refused the sign-in code or refresh token (expired or "
            "already used). Connect again.",
            code="invalid_grant",
            retryable=False,
        )
    if isinstance(exc, httpx.HTTPStatusError):
        return HubError(
            f"{name} refused the token request (HTTP {exc.response.status_code}).",
            code="refused",
            retryable=False,
        )
    if isinstance(exc, ValueError) and not error:
        return HubError(
            f"{name} sent a token answer that is not valid JSON (cut short or garbled). "
            "Try again in a moment.",
            code="malformed",
        )
    if isinstance(error, dict):  # {"code": ..., "message": ...} rather than OAuth's string
        error = error.get("code") or ""
    detail = str(error)[:60] if error else "no reason given"
    return HubError(f"{name} refused the token request ({detail}).", retryable=False)


def exchange_code(*, code: str, code_verifier: str, redirect_uri: str) -> TokenSet:
    try:
        with _oauth_client(redirect_uri) as client:
            token = client.fetch_token(
                _hub_url("/oauth/token"),
                grant_type="authorization_code",
                code=code,
                code_verifier=code_verifier,
                redirect_uri=redirect_uri,
            )
    except (OAuth2Error, OAuthError, httpx.HTTPError, ValueError) as exc:
        raise _oauth_failure(exc) from None
    return _token_set(token)


# A refresh whose answer did not arrive whole: the hub may have rotated the refresh token
# all the same (see services.access_token, which tries once more).
REFRESH_ANSWER_LOST = "refresh_answer_lost"


def _answer_lost(detail: str) -> HubError:
    return HubError(
        f"{settings.ICB_HUB_NAME} did not answer a token refresh readably ({detail}).",
        code=REFRESH_ANSWER_LOST,
    )


def refresh_tokens(refresh_token: str) -> TokenSet:
    """New tokens for a refresh token. An answer that is garbled, cut short or cut off
    by a broken connection or a read timeout raises HubError with code
    REFRESH_ANSWER_LOST. Under a time limit that has run out, the time limit's error
    (code "deadline"): no time is left to try again."""
    if out_of_time := _deadline_passed():
        raise out_of_time
    try:
        with _oauth_client() as client:
            token = client.refresh_token(_hub_url("/oauth/token"), refresh_token=refresh_token)
    except ValueError:  # the body is not JSON: garbled or cut short
        raise _answer_lost("the answer was garbled or cut short") from None
    except httpx.ReadTimeout:
        raise _deadline_passed() or _answer_lost("no answer in time") from None
    except (httpx.ReadError, httpx.RemoteProtocolError):
        raise _answer_lost("the connection broke before the answer arrived") from None
    except (OAuth2Error, OAuthError, httpx.HTTPError) as exc:
        failure = _oauth_failure(exc)
        if failure.code in ("invalid_grant", "invalid_client"):
            raise HubUnauthorized(failure.message) from None
        raise failure from None
    if not isinstance(token, dict) or not token.get("access_token"):
        raise _answer_lost("the answer had no access token")
    return _token_set(token)


def revoke_token(token: str, hint: str) -> None:
    """Best effort: a hub that is down cannot stop a disconnect."""
    try:
        with _oauth_client() as client:
            client.revoke_token(_hub_url("/oauth/revoke"), token=token, token_type_hint=hint)
    except (OAuth2Error, OAuthError, httpx.HTTPError, ValueError) as exc:
        log.warning("Revoking a hub token failed: %s", type(exc).__name__)


# --- paging ----------------------------------------------------------------------------


class _Pages:
    """Follows the cursors of one paged read and stops a read that would not end: a
    cursor handed out twice, a page that brings nothing new yet promises more, or more
    pages than the request can have (one more is fetched, to tell a repeat from a hub
    that keeps paging)."""

    def __init__(self, what: str, max_pages: int):
        self.what = what
        self.max_pages = max(1, max_pages)
        self.pages = 0
        self.seen: set[str] = set()

    def next(self, cursor: str | None, *, progressed: bool) -> str | None:
        """The cursor of the next page (None: the read is complete), or HubError."""
        self.pages += 1
        if not cursor:
            return None
        name = settings.ICB_HUB_NAME
        if cursor in self.seen:
            raise self._stop(f"{name} kept answering the same page of {self.what}")
        if not progressed:
            raise self._stop(
                f"{name} sent a page of {self.what} with nothing new, yet said more would follow"
            )
        if self.pages > self.max_pages:  # checked after the repeats: their message is clearer
            raise self._stop(
                f"{name} sent more pages of {self.what} than the request can have "
                f"({self.max_pages})"
            )
        self.seen.add(cursor)
        return cursor

    @staticmethod
    def _stop(reason: str) -> HubError:
        return HubError(f"{reason}; the read was stopped.", code="paging")


# --- the API ---------------------------------------------------------------------------


class HubClient:
    """Calls the hub's API with an access token. `renew_token` is called once when the
    hub answers 401, and must return a fresh access token (or raise)."""

    def __init__(
        self,
        access_token: str,
        *,
        renew_token: Callable[[], str] | None = None,
        attempts: int | None = None,
        transport: httpx.BaseTransport | None = None,
    ):
        self._token = access_token
        self._renew = renew_token
        self._attempts = attempts or settings.ICB_HUB_ATTEMPTS
        self._http = httpx.Client(
            base_url=settings.ICB_HUB_URL.rstrip("/"),
            timeout=settings.ICB_HUB_TIMEOUT,
            transport=transport,
            headers={"Accept": "application/json"},
            verify=_tls_context(),
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _request(self, method: str, path: str, *, what: str, **kwargs) -> dict:
        name = settings.ICB_HUB_NAME
        renewed = out_of_time = False
        failure: HubError | None = None
        for attempt in range(self._attempts):
            if attempt:
                wait = settings.ICB_HUB_RETRY_BASE * (2 ** (attempt - 1))
                if failure and failure.retry_after is not None:
                    wait = max(wait, failure.retry_after)
                wait = min(wait, settings.ICB_HUB_MAX_RETRY_WAIT)
                left = _time_left()
                if left is not None and wait >= left:
                    out_of_time = True  # no time left for another attempt
                    break
                time.sleep(wait)
            if _deadline_passed():
                out_of_time = True
                break
            try:
                response = self._http.request(
                    method,
                    path,
                    headers={"Authorization": f"Bearer {self._token}"},
                    timeout=_timeout(),
                    **kwargs,
                )
            except httpx.TimeoutException:
                failure = HubError(
                    f"{name} did not answer in time while reading {what}.", code="timeout"
                )
                continue
            except httpx.TransportError:
                failure = HubError(
                    f"{name} could not be reached at {settings.ICB_HUB_URL} while reading {what}.",
                    code="unreachable",
                )
                continue
            if response.status_code == 401:
                if self._renew is None or renewed:
                    raise HubUnauthorized()
                self._token, renewed = self._renew(), True
                failure = HubUnauthorized()
                continue
            if response.status_code == 429:
                failure = HubError(
                    f"{name} is rate-limiting us while reading {what}.",
                    code="rate_limited",
                    retry_after=_retry_after(response.headers.get("Retry-After")),
                )
                continue
            if response.status_code >= 500:
                failure = HubError(
                    f"{name} had an internal error ({response.status_code}) while reading {what}.",
                    code="server_error",
                )
                continue
            if response.status_code >= 400:
                raise HubError(
                    f"{name} refused the request for {what}: {_error_message(response)}",
                    code="refused",
                    retryable=False,
                )
            try:
                return response.json()
            except ValueError:
                failure = HubError(
                    f"{name} sent an answer that is not valid JSON (cut short or "
                    f"garbled) while reading {what}.",
                    code="malformed",
                )
                continue
        out_of_time = out_of_time or _deadline_passed() is not None
        if out_of_time and (failure is None or failure.code == "timeout"):
            # Cut short by the time limit (a rate limit or an error keeps its own reason).
            failure = _time_limit_error()
        assert failure is not None
        raise failure

    def _parse(self, model: type[BaseModel], body: dict, what: str):
        try:
            return model.model_validate(body)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            raise HubError(
                f"{settings.ICB_HUB_NAME} sent {what} we could not understand "
                f"({where}: {first.get('msg')}).",
                code="malformed",
            ) from None

    def modules(self) -> list[ModuleInfo]:
        body = self._request("GET", "/api/v1/modules", what="the module list")
        return self._parse(_ModulesPage, body, "a module list").modules

    def organization_pages(
        self, module: str, page_size: int = 5000
    ) -> Iterator[list[OrganizationInfo]]:
        pages = _Pages("organizations", ORGANIZATION_PAGES_MAX)
        cursor: str | None = None
        while True:
            params = {"limit": page_size, **({"cursor": cursor} if cursor else {})}
            body = self._request(
                "GET",
                f"/api/v1/modules/{module}/organizations",
                params=params,
                what=f"the organizations of {module}",
            )
            page = self._parse(_OrganizationsPage, body, "an organization list")
            yield page.organizations
            cursor = pages.next(page.next_cursor, progressed=bool(page.organizations))
            if cursor is None:
                return

    def usage(
        self, module: str, organization_ids: list[str], billing_types: list[str]
    ) -> UsageResult:
        """Quantities of every (organization, billing type) asked for, in as few requests
        as the protocol allows (1,000 organizations per query, pages followed)."""
        result = UsageResult(quantities={}, measured_at={}, missing=set())
        ids = sorted(set(organization_ids))
        for start in range(0, len(ids), USAGE_IDS_PER_REQUEST):
            chunk = ids[start : start + USAGE_IDS_PER_REQUEST]
            # Every page brings at least one of the rows asked for, each row comes once:
            # even at one row per page, no more pages than rows.
            pages = _Pages("usage", len(chunk) * len(set(billing_types)))
            cursor: str | None = None
            while True:
                body = self._request(
                    "POST",
                    "/api/v1/usage/query",
                    what=f"usage of {module}",
                    json={
                        "module": module,
                        "organization_ids": chunk,
                        "billing_types": billing_types,
                        "cursor": cursor,
                    },
                )
                page = self._parse(_UsagePage, body, "usage")
                asked = set(chunk)
                progressed = False
                for row in page.usage:
                    key = (row.organization_id, row.billing_type)
                    if row.organization_id not in asked or row.billing_type not in billing_types:
                        raise HubError(
                            f"{settings.ICB_HUB_NAME} answered with usage we did not ask for.",
                            code="malformed",
                        )
                    if key in result.quantities and result.quantities[key] != row.quantity:
                        raise HubError(
                            f"{settings.ICB_HUB_NAME} reported two different "
                            f"quantities for {key[0]} / {key[1]}.",
                            code="malformed",
                        )
                    progressed = progressed or key not in result.quantities
                    result.quantities[key] = row.quantity
                    result.measured_at[key] = row.measured_at
                result.missing.update(set(page.missing) & asked)
                cursor = pages.next(page.next_cursor, progressed=progressed)
                if cursor is None:
                    break
        return result


@lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    """One TLS context per process: building one (loading the CA bundle) costs ~30 ms,
    and every sync job opens a client."""
    return ssl.create_default_context(cafile=certifi.where())


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _error_message(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"]["message"])[:300]
    except (ValueError, KeyError, TypeError):
        return f"HTTP {response.status_code}"
