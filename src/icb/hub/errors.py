"""The errors of talking to the hub (hub/client.py for its API, hub/oauth.py for its
token endpoint), each with a message a person understands."""

from __future__ import annotations

from django.conf import settings


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


class HubConnectionLost(HubUnauthorized):
    """The hub refused the connection's tokens: the connection is broken until an
    administrator reconnects it. `reason` is what the hub refused."""

    def __init__(self, reason: str):
        name = settings.ICB_HUB_NAME
        super().__init__(
            f"The connection to {name} is lost: {reason} Reconnect it on the {name} page."
        )
        self.code = "connection_lost"
        self.reason = reason


def retry_after(value: str | None) -> float | None:
    """The seconds of a Retry-After header (None if absent or not a number)."""
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
