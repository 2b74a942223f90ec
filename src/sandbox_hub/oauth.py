"""The hub's OAuth 2 authorization server, built on Authlib.

One confidential client (the product) is configured on the command line. It uses the
authorization code grant with PKCE (``S256`` only, always required), refresh tokens
that rotate on use, and token revocation (RFC 7009). Everything lives in memory.

Like many real providers (a "grace period" or "reuse interval" for rotation), the hub
still accepts a refresh token it has rotated for ``refresh_grace`` seconds after its
first use, as long as no token issued from it has been used yet: a client that lost the
answer to a refresh (garbled, cut off) can try again with the token it still holds.
Each such use answers a fresh token pair, as a first use does.
"""

from __future__ import annotations

import hmac
import threading
import time
from dataclasses import dataclass, field

from authlib.common.security import generate_token
from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.integrations.flask_oauth2.requests import FlaskOAuth2Payload, FlaskOAuth2Request
from authlib.oauth2.rfc6749 import (
    AuthorizationCodeMixin,
    ClientMixin,
    InvalidRequestError,
    OAuth2Request,
    TokenMixin,
    grants,
    list_to_scope,
    scope_to_list,
)
from authlib.oauth2.rfc6750 import BearerTokenGenerator, BearerTokenValidator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from flask import request as flask_request

SCOPE = "hub.read"
SCOPES = (SCOPE,)
CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
CODE_TTL = 600  # seconds an authorization code can be exchanged


@dataclass
class Client(ClientMixin):
    client_id: str
    client_secret: str
    name: str
    redirect_uris: list[str]

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return self.redirect_uris[0] if self.redirect_uris else None

    def get_allowed_scope(self, scope: str | None) -> str | None:
        if not scope:
            return SCOPE  # an empty scope means the only one there is
        wanted = scope_to_list(scope)
        if not set(wanted) <= set(SCOPES):
            return None
        return list_to_scope(wanted)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return hmac.compare_digest(self.client_secret.encode(), client_secret.encode())

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in CLIENT_AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in ("authorization_code", "refresh_token")


@dataclass
class AuthorizationCode(AuthorizationCodeMixin):
    code: str
    client_id: str
    redirect_uri: str | None
    scope: str
    user: str
    code_challenge: str | None
    code_challenge_method: str | None
    expires_at: float
    used: bool = False

    def get_redirect_uri(self) -> str | None:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


@dataclass
class Token(TokenMixin):
    access_token: str
    refresh_token: str | None
    client_id: str
    user: str
    scope: str
    issued_at: float
    expires_in: int
    code: str | None = None  # the authorization code this token family started from
    access_revoked: bool = False
    refresh_revoked: bool = False
    forced_expired: bool = False
    rotated_at: float | None = None  # when its refresh token was first used
    parent: Token | None = field(default=None, repr=False)  # the token refreshed into this
    family: list[Token] = field(default_factory=list, repr=False)

    def check_client(self, client: Client) -> bool:
        return self.client_id == client.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return self.expires_in

    def is_expired(self) -> bool:
        return self.forced_expired or time.time() >= self.issued_at + self.expires_in

    def is_revoked(self) -> bool:
        return self.access_revoked

    def get_user(self) -> str:
        return self.user


class OAuthStore:
    """Codes and tokens, in memory, behind one lock."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.codes: dict[str, AuthorizationCode] = {}
        self.by_access: dict[str, Token] = {}
        self.by_refresh: dict[str, Token] = {}

    def revoke_family(self, token: Token) -> None:
        """Revoke a token and everything issued from the same authorization."""
        with self.lock:
            for member in token.family:
                member.access_revoked = True
                member.refresh_revoked = True

    def expire_access_tokens(self) -> int:
        with self.lock:
            for token in self.by_access.values():
                token.forced_expired = True
            return len(self.by_access)


class S256CodeChallenge(CodeChallenge):
    """PKCE that every authorization request must use, with ``S256``."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant, redirect_uri):
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send 'code_challenge'.")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("PKCE: 'code_challenge_method' must be 'S256'.")
        return super().validate_code_challenge(grant, redirect_uri)


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS

    @property
    def store(self) -> OAuthStore:
        return self.server.store

    def save_authorization_code(self, code, request):
        data = request.payload.data
        item = AuthorizationCode(
            code=code,
            client_id=request.client.client_id,
            redirect_uri=request.payload.redirect_uri,
            scope=request.scope,
            user=request.user,
            code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"),
            expires_at=time.time() + CODE_TTL,
        )
        with self.store.lock:
            self.store.codes[code] = item
        return item

    def query_authorization_code(self, code, client):
        with self.store.lock:
            item = self.store.codes.get(code)
            if item is None or item.client_id != client.client_id:
                return None
            if item.used:
                # A replayed code: refuse it and revoke what it was exchanged for.
                for token in list(self.store.by_access.values()):
                    if token.code == code:
                        self.store.revoke_family(token)
                return None
            if time.time() > item.expires_at:
                return None
            return item

    def delete_authorization_code(self, authorization_code):
        with self.store.lock:
            authorization_code.used = True  # kept, so that a replay can be detected

    def authenticate_user(self, authorization_code):
        return authorization_code.user


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotate: every refresh hands out a new one

    def authenticate_refresh_token(self, refresh_token):
        store: OAuthStore = self.server.store
        with store.lock:
            token = store.by_refresh.get(refresh_token)
            if token is None or token.refresh_revoked:
                return None
            if token.rotated_at is None:
                return token
            # Rotated already: accepted again only within the grace period, and only
            # while none of the tokens issued from it has been used (a newer generation
            # in use means the client did get its answer).
            if time.time() - token.rotated_at >= self.server.refresh_grace:
                return None
            if any(t.parent is token and t.rotated_at is not None for t in token.family):
                return None
            return token

    def authenticate_user(self, refresh_token):
        return refresh_token.user

    def revoke_old_credential(self, refresh_token):
        with self.server.store.lock:
            if refresh_token.rotated_at is None:  # a reuse does not extend the period
                refresh_token.rotated_at = time.time()


class HubRevocationEndpoint(RevocationEndpoint):
    CLIENT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def query_token(self, token_string, token_type_hint):
        store: OAuthStore = self.server.store
        with store.lock:
            if token_type_hint == "access_token":
                return store.by_access.get(token_string)
            if token_type_hint == "refresh_token":
                return store.by_refresh.get(token_string)
            return store.by_access.get(token_string) or store.by_refresh.get(token_string)

    def revoke_token(self, token, request):
        store: OAuthStore = self.server.store
        with store.lock:
            if request.form.get("token") == token.refresh_token:
                # Revoking a refresh token ends the grant: its access tokens go too.
                store.revoke_family(token)
            else:
                token.access_revoked = True


class PlainHttpRequest(FlaskOAuth2Request):
    """Authlib refuses plain HTTP except on loopback addresses. A sandbox is plain HTTP
    on whatever host name it is reached by (a container's, a laptop's), so the URL is
    recorded as if it were HTTPS; nothing else reads it."""

    def __init__(self, request) -> None:
        url = request.url
        if url.startswith("http://"):
            url = "https://" + url[len("http://") :]
        OAuth2Request.__init__(self, method=request.method, uri=url, headers=request.headers)
        self._request = request
        self.payload = FlaskOAuth2Payload(request)


class HubAuthorizationServer(AuthorizationServer):
    def __init__(self, client: Client, token_ttl: int, refresh_grace: int = 0) -> None:
        super().__init__()
        self.client = client
        self.refresh_grace = refresh_grace  # seconds a rotated refresh token still works
        self.store = OAuthStore()
        self.scopes_supported = list(SCOPES)
        self.register_token_generator(
            "default",
            BearerTokenGenerator(
                access_token_generator=lambda **_: generate_token(42),
                refresh_token_generator=lambda **_: generate_token(48),
                expires_generator=lambda client, grant_type: token_ttl,
            ),
        )
        self.register_grant(AuthorizationCodeGrant, [S256CodeChallenge(required=True)])
        self.register_grant(RefreshTokenGrant)
        self.register_endpoint(HubRevocationEndpoint)

    def create_oauth2_request(self, request):
        return PlainHttpRequest(flask_request)

    def query_client(self, client_id):
        if client_id == self.client.client_id:
            return self.client
        return None

    def save_token(self, token, request):
        previous: Token | None = getattr(request, "refresh_token", None)
        code: AuthorizationCode | None = getattr(request, "authorization_code", None)
        item = Token(
            access_token=token["access_token"],
            refresh_token=token.get("refresh_token"),
            client_id=request.client.client_id,
            user=request.user,
            scope=token.get("scope", SCOPE),
            issued_at=time.time(),
            expires_in=int(token["expires_in"]),
            code=previous.code if previous else (code.code if code else None),
            parent=previous,
        )
        with self.store.lock:
            item.family = previous.family if previous else []
            item.family.append(item)
            self.store.by_access[item.access_token] = item
            if item.refresh_token:
                self.store.by_refresh[item.refresh_token] = item

    def send_signal(self, name, *args, **kwargs):
        pass  # nobody listens; skips the optional blinker dependency


class HubTokenValidator(BearerTokenValidator):
    def __init__(self, store: OAuthStore) -> None:
        super().__init__()
        self.store = store

    def authenticate_token(self, token_string):
        with self.store.lock:
            return self.store.by_access.get(token_string)


def resource_protector(server: HubAuthorizationServer) -> ResourceProtector:
    protector = ResourceProtector()
    protector.register_token_validator(HubTokenValidator(server.store))
    return protector
