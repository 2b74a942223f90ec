"""A time limit on every hub request of a piece of work (hub/client.py and hub/oauth.py
keep to it): for work done while a person waits, in a web request that the web server
ends after a fixed time.

    with time_limit(20):
        ...  # every hub request in here, token requests included
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings

from .errors import HubError

# (deadline on time.monotonic(), the limit in seconds) of the work in progress, if any.
_limit: ContextVar[tuple[float, float] | None] = ContextVar("hub_time_limit", default=None)


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Bound every hub request made inside, token requests included, by one deadline:
    each request's timeout and every wait between attempts fit in what is left, and the
    retries stop when it has passed (HubError, code "deadline")."""
    token = _limit.set((time.monotonic() + seconds, seconds))
    try:
        yield
    finally:
        _limit.reset(token)


def time_left() -> float | None:
    """Seconds left under the time limit (None: no limit)."""
    limit = _limit.get()
    return None if limit is None else limit[0] - time.monotonic()


def request_timeout() -> float:
    """One request's timeout: the configured one, within the time limit if any."""
    left = time_left()
    timeout = float(settings.ICB_HUB_TIMEOUT)
    return timeout if left is None else max(0.0, min(timeout, left))


def time_limit_error() -> HubError:
    limit = _limit.get()
    assert limit is not None
    return HubError(
        f"{settings.ICB_HUB_NAME} did not answer within {limit[1]:g} seconds", code="deadline"
    )


def deadline_passed() -> HubError | None:
    """The error to raise when the time limit has passed (None while it has not)."""
    left = time_left()
    return time_limit_error() if left is not None and left <= 0 else None
