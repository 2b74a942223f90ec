"""The hub's OAuth 2 endpoints (authorization code with PKCE): the authorization URL,
the code exchange, the token refresh and revocation, and what their failures mean for a
person. With hub/client.py, the only code that talks HTTP to the hub."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import httpx
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oauth2.rfc6749.errors import OAuth2Error
from django.conf import settings

from .errors import HubError, HubUnauthorized, retry_after
from .timelimit import deadline_passed, request_timeout

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str
    expires_in: int | None
    scope: str


def _oauth_client(redirect_uri: str | None = None) -> OAuth2Client:
    oauth = OAuth2Client(
        client_id=settings.ICB_HUB_CLIENT_ID,
        client_secret=settings.ICB_HUB_CLIENT_SECRET,
        redirect_uri=redirect_uri,
        scope="hub.read",
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
        timeout=request_timeout(),
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
            retry_after=retry_after(response.headers.get("Retry-After")),
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
        return deadline_passed() or HubError(
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
            f"{name} refused the sign-in code (expired or already used). Sign in again.",
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
    if out_of_time := deadline_passed():
        raise out_of_time
    try:
        with _oauth_client() as client:
            token = client.refresh_token(_hub_url("/oauth/token"), refresh_token=refresh_token)
    except ValueError:  # the body is not JSON: garbled or cut short
        raise _answer_lost("the answer was garbled or cut short") from None
    except httpx.ReadTimeout:
        raise deadline_passed() or _answer_lost("no answer in time") from None
    except (httpx.ReadError, httpx.RemoteProtocolError):
        raise _answer_lost("the connection broke before the answer arrived") from None
    except (OAuth2Error, OAuthError, httpx.HTTPError) as exc:
        failure = _oauth_failure(exc)
        if failure.code == "invalid_grant":
            raise HubUnauthorized(
                f"{settings.ICB_HUB_NAME} refused the refresh token we hold (it expired, "
                "was revoked, or the hub no longer knows it)."
            ) from None
        if failure.code == "invalid_client":
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
