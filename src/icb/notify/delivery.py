"""The wire of a webhook: where we may send (the address guard), how a message is signed
(Standard Webhooks, with its reference library) and sent, and the retry schedule.

Signing: headers webhook-id, webhook-timestamp (Unix seconds) and webhook-signature
"v1,<base64 HMAC-SHA256 of 'id.timestamp.body'>" keyed by the secret's bytes (the
base64 after "whsec_")."""

from __future__ import annotations

import base64
import ipaddress
import secrets
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from standardwebhooks.webhooks import Webhook

from icb.common.errors import InvalidInput

SECRET_PREFIX = "whsec_"
USER_AGENT = "ICB-Webhooks/1"


def new_secret() -> str:
    """32 random bytes, as the specification's "whsec_" + base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret: str, message_id: str, at: datetime, body: str) -> dict[str, str]:
    """The three signature headers of one attempt."""
    at = at.astimezone(UTC)  # the library reads the time as UTC whatever its zone
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, at, body),
    }


def _forbidden(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def check_url(url: str) -> None:
    """http or https with a host; unless ICB_WEBHOOKS_ALLOW_PRIVATE, every address the
    host resolves to must be public (no loopback, private, link-local or reserved
    address: a webhook must not reach into the network ICB runs in)."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        raise InvalidInput("Enter a valid URL.", field="url") from None
    if parts.scheme not in ("http", "https") or not host:
        raise InvalidInput("Enter an http:// or https:// URL.", field="url")
    if parts.username or parts.password:
        raise InvalidInput("Leave credentials out of the URL.", field="url")
    if settings.ICB_WEBHOOKS_ALLOW_PRIVATE:
        return
    try:
        infos = socket.getaddrinfo(host, port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        raise InvalidInput(f"The host “{host}” could not be found.", field="url") from None
    if any(_forbidden(str(info[4][0])) for info in infos):
        raise InvalidInput(
            f"“{host}” is a private or local address; webhooks go to public addresses only.",
            field="url",
        )


@dataclass(frozen=True)
class Answer:
    status_code: int | None
    error: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def post(url: str, body: str, headers: dict[str, str]) -> Answer:
    """One attempt. Redirects are not followed (a redirect is an answer, and a failure:
    following it could lead past the address guard)."""
    started = time.monotonic()
    try:
        check_url(url)  # again at sending time: the host may resolve elsewhere now
        response = httpx.post(
            url,
            content=body.encode(),
            headers={
                **headers,
                "content-type": "application/json",
                "user-agent": USER_AGENT,
            },
            timeout=settings.ICB_WEBHOOK_TIMEOUT,
            follow_redirects=False,
        )
    except InvalidInput as exc:
        return Answer(None, exc.message, _since(started))
    except httpx.TimeoutException:
        return Answer(None, "No answer in time.", _since(started))
    except httpx.HTTPError as exc:
        return Answer(None, f"Could not connect: {type(exc).__name__}.", _since(started))
    error = "" if 200 <= response.status_code < 300 else f"Answered HTTP {response.status_code}."
    return Answer(response.status_code, error, _since(started))


def _since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def retry_wait(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt: ICB_WEBHOOK_RETRY_BASE doubled
    each time, at most ICB_WEBHOOK_MAX_RETRY_WAIT."""
    seconds = settings.ICB_WEBHOOK_RETRY_BASE * 2 ** (attempts - 1)
    return timedelta(seconds=min(seconds, settings.ICB_WEBHOOK_MAX_RETRY_WAIT))
