"""Fault injection: make chosen endpoints slow, failing, rate-limited or broken.

Rules are added through the test controls. Each request to an endpoint checks the
active rules in the order they were added; a rule fires with probability ``rate``
(drawn from a seeded random generator, so runs repeat) and, if it has a ``count``,
only for that many requests.

- ``latency``: wait ``latency_ms`` (default 1000), then answer normally.
- ``hang``: wait ``latency_ms`` (default 60 s) or until the faults are cleared, then
  answer normally. Meant for client timeouts.
- ``error``: answer ``status`` (default 503) with an error body.
- ``rate_limit``: answer 429 with ``Retry-After: retry_after`` (default 1).
- ``malformed``: replace a successful answer by a 200 whose body is not JSON.
- ``truncated``: replace a successful answer by a 200 whose JSON body stops halfway.
- ``repeat_cursor`` (``usage`` and ``organizations`` only): the answer's ``next_cursor``
  is the cursor of the request, or on a first page a cursor leading back to that first
  page, so a client following cursors gets the same page again and again.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from dataclasses import asdict, dataclass

from .errors import HubError

ENDPOINTS = ("usage", "organizations", "modules", "token")
BEFORE_KINDS = ("latency", "hang", "error", "rate_limit")
AFTER_KINDS = ("malformed", "truncated")
ANSWER_KINDS = ("repeat_cursor",)  # applied by the endpoint while it answers
KINDS = BEFORE_KINDS + AFTER_KINDS + ANSWER_KINDS
PAGED_ENDPOINTS = ("usage", "organizations")

DEFAULT_LATENCY_MS = 1000
DEFAULT_HANG_MS = 60_000
ERROR_CODES = {
    500: "server_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}


@dataclass
class FaultRule:
    id: int
    endpoint: str
    kind: str
    rate: float = 1.0
    latency_ms: int | None = None
    status: int | None = None
    retry_after: int | None = None
    count: int | None = None  # requests still to affect; None: no limit
    applied: int = 0

    def as_json(self) -> dict:
        return asdict(self)


def _integer(data: dict, key: str, low: int, high: int) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise HubError(400, "invalid_fault", f"{key} must be an integer from {low} to {high}")
    return value


def parse_rule(data: object, rule_id: int) -> FaultRule:
    """A rule from the JSON body of ``PUT /_sandbox/faults``."""
    if not isinstance(data, dict):
        raise HubError(400, "invalid_fault", "send a JSON object")
    unknown = sorted(
        set(data) - {"endpoint", "kind", "rate", "latency_ms", "status", "retry_after", "count"}
    )
    if unknown:
        raise HubError(400, "invalid_fault", f"unknown field(s): {', '.join(unknown)}")
    endpoint = data.get("endpoint")
    if endpoint not in ENDPOINTS:
        raise HubError(400, "invalid_fault", f"endpoint must be one of {', '.join(ENDPOINTS)}")
    kind = data.get("kind")
    if kind not in KINDS:
        raise HubError(400, "invalid_fault", f"kind must be one of {', '.join(KINDS)}")
    if kind == "repeat_cursor" and endpoint not in PAGED_ENDPOINTS:
        raise HubError(
            400,
            "invalid_fault",
            f"kind repeat_cursor needs a paged endpoint: {', '.join(PAGED_ENDPOINTS)}",
        )
    rate = data.get("rate", 1)
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
        raise HubError(400, "invalid_fault", "rate must be a number from 0 to 1")
    status = _integer(data, "status", 400, 599)
    retry_after = _integer(data, "retry_after", 0, 86400)
    rule = FaultRule(
        id=rule_id,
        endpoint=endpoint,
        kind=kind,
        rate=float(rate),
        latency_ms=_integer(data, "latency_ms", 0, 3_600_000),
        status=status,
        retry_after=retry_after,
        count=_integer(data, "count", 1, 1_000_000),
    )
    if kind == "latency" and rule.latency_ms is None:
        rule.latency_ms = DEFAULT_LATENCY_MS
    if kind == "hang" and rule.latency_ms is None:
        rule.latency_ms = DEFAULT_HANG_MS
    if kind == "error" and rule.status is None:
        rule.status = 503
    if kind == "rate_limit" and rule.retry_after is None:
        rule.retry_after = 1
    return rule


class FaultInjector:
    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._rng = random.Random(f"{seed}:faults")
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._ids = itertools.count(1)
        self._cleared = threading.Event()

    def add(self, data: object) -> FaultRule:
        with self._lock:
            rule = parse_rule(data, next(self._ids))
            self._rules.append(rule)
            return rule

    def remove(self, rule_id: int) -> bool:
        with self._lock:
            before = len(self._rules)
            self._rules = [r for r in self._rules if r.id != rule_id]
            return len(self._rules) < before

    def clear(self) -> None:
        """Drop every rule, release hanging requests and restart the random draws."""
        with self._lock:
            self._rules = []
            self._rng = random.Random(f"{self._seed}:faults")
            self._cleared.set()
            self._cleared = threading.Event()

    def rules(self) -> list[dict]:
        with self._lock:
            return [r.as_json() for r in self._rules]

    def _fire(self, endpoint: str, kinds: tuple[str, ...]) -> list[FaultRule]:
        fired = []
        with self._lock:
            for rule in self._rules:
                if rule.endpoint != endpoint or rule.kind not in kinds:
                    continue
                if rule.count is not None and rule.count <= 0:
                    continue
                if rule.rate < 1 and self._rng.random() >= rule.rate:
                    continue
                if rule.count is not None:
                    rule.count -= 1
                rule.applied += 1
                fired.append(FaultRule(**asdict(rule)))
            self._rules = [r for r in self._rules if r.count is None or r.count > 0]
            return fired

    def before(self, endpoint: str) -> HubError | None:
        """Delays, then the error to answer with (or None to go on normally)."""
        for rule in self._fire(endpoint, BEFORE_KINDS):
            if rule.kind == "latency":
                time.sleep((rule.latency_ms or 0) / 1000)
            elif rule.kind == "hang":
                with self._lock:
                    cleared = self._cleared
                cleared.wait((rule.latency_ms or 0) / 1000)
            elif rule.kind == "error":
                status = rule.status or 503
                return HubError(
                    status,
                    ERROR_CODES.get(status, "injected_error"),
                    f"injected fault: HTTP {status}",
                )
            else:
                return HubError(
                    429,
                    "rate_limited",
                    "too many requests; retry later",
                    headers={"Retry-After": str(rule.retry_after)},
                )
        return None

    def repeats_cursor(self, endpoint: str) -> bool:
        """Whether this answer's ``next_cursor`` must send the client back to this page."""
        return bool(self._fire(endpoint, ANSWER_KINDS))

    def after(self, endpoint: str) -> str | None:
        """``"malformed"``, ``"truncated"`` or None for a successful answer."""
        fired = self._fire(endpoint, AFTER_KINDS)
        return fired[0].kind if fired else None
