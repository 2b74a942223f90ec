"""The hub's API (protocol: docs/hub-protocol.md): modules, organizations and usage,
with retries, the token renewed once on a 401, and every paged read guarded. With
hub/oauth.py (its token endpoint), the only code that talks HTTP to the hub.

Every answer is validated (hub/wire.py) before anything else sees it: a body that is
not JSON, is cut short, or does not have the documented shape raises HubError, so bad
data from the hub never reaches the database."""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import lru_cache

import certifi
import httpx
from django.conf import settings
from pydantic import BaseModel, ValidationError

from .errors import HubError, HubUnauthorized, retry_after
from .paging import Pages
from .timelimit import deadline_passed, request_timeout, time_left, time_limit_error
from .wire import (
    ModuleInfo,
    ModulesPage,
    OrganizationInfo,
    OrganizationsPage,
    UsagePage,
    read_usage_page,
)

USAGE_IDS_PER_REQUEST = 1000
# No directory read takes more pages than this (5 million organizations at the
# protocol's default page size): a hub that keeps paging past it is stopped.
ORGANIZATION_PAGES_MAX = 5000


@dataclass
class UsageResult:
    """A usage read, by (organization id, billing type): the quantities and when they
    were measured; the organizations the hub does not know; and the rows it sent that
    could not be used (a negative quantity, not a number...), with the reason. An
    unusable row is in `unusable` only, never in `quantities`."""

    quantities: dict[tuple[str, str], Decimal]
    measured_at: dict[tuple[str, str], datetime]
    missing: set[str]
    unusable: dict[tuple[str, str], str] = field(default_factory=dict)


# --- the API ---------------------------------------------------------------------------


class HubClient:
    """Calls the hub's API with an access token. `renew_token` is called once when the
    hub answers 401, and must return a fresh access token (or raise); `refused` is
    called with the reason when the hub refuses that fresh token too, and answers the
    error to raise."""

    def __init__(
        self,
        access_token: str,
        *,
        renew_token: Callable[[], str] | None = None,
        refused: Callable[[str], HubError] | None = None,
        attempts: int | None = None,
        transport: httpx.BaseTransport | None = None,
    ):
        self._token = access_token
        self._renew = renew_token
        self._refused = refused
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
                left = time_left()
                if left is not None and wait >= left:
                    out_of_time = True  # no time left for another attempt
                    break
                time.sleep(wait)
            if deadline_passed():
                out_of_time = True
                break
            try:
                response = self._http.request(
                    method,
                    path,
                    headers={"Authorization": f"Bearer {self._token}"},
                    timeout=request_timeout(),
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
                if renewed and self._refused is not None:
                    raise self._refused(
                        f"{name} refused the access token it had just issued (HTTP 401 "
                        "right after a token refresh)."
                    )
                if self._renew is None or renewed:
                    raise HubUnauthorized()
                self._token, renewed = self._renew(), True
                failure = HubUnauthorized()
                continue
            if response.status_code == 429:
                failure = HubError(
                    f"{name} is rate-limiting us while reading {what}.",
                    code="rate_limited",
                    retry_after=retry_after(response.headers.get("Retry-After")),
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
        out_of_time = out_of_time or deadline_passed() is not None
        if out_of_time and (failure is None or failure.code == "timeout"):
            # Cut short by the time limit (a rate limit or an error keeps its own reason).
            failure = time_limit_error()
        assert failure is not None
        raise failure

    def _parse(self, model: type[BaseModel], body: dict, what: str):
        try:
            return model.model_validate(body)
        except ValidationError as exc:
            raise _not_understood(exc, what) from None

    def modules(self) -> list[ModuleInfo]:
        body = self._request("GET", "/api/v1/modules", what="the module list")
        return self._parse(ModulesPage, body, "a module list").modules

    def organization_pages(
        self, module: str, page_size: int = 5000
    ) -> Iterator[list[OrganizationInfo]]:
        pages = Pages("organizations", ORGANIZATION_PAGES_MAX)
        cursor: str | None = None
        while True:
            params = {"limit": page_size, **({"cursor": cursor} if cursor else {})}
            body = self._request(
                "GET",
                f"/api/v1/modules/{module}/organizations",
                params=params,
                what=f"the organizations of {module}",
            )
            page = self._parse(OrganizationsPage, body, "an organization list")
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
            pages = Pages("usage", len(chunk) * len(set(billing_types)))
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
                page, unusable = self._usage_page(body)
                asked = set(chunk)
                progressed = False
                for key, reason in unusable.items():
                    _check_asked(key, asked, billing_types)
                    progressed = progressed or (
                        key not in result.quantities and key not in result.unusable
                    )
                    result.unusable.setdefault(key, reason)
                    result.quantities.pop(key, None)
                    result.measured_at.pop(key, None)
                for row in page.usage:
                    key = (row.organization_id, row.billing_type)
                    _check_asked(key, asked, billing_types)
                    if key in result.unusable:  # a good row does not hide a bad one
                        continue
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

    def _usage_page(self, body: dict) -> tuple[UsagePage, dict[tuple[str, str], str]]:
        try:
            return read_usage_page(body)
        except ValidationError as exc:
            raise _not_understood(exc, "usage") from None


def _not_understood(exc: ValidationError, what: str) -> HubError:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ()))
    return HubError(
        f"{settings.ICB_HUB_NAME} sent {what} we could not understand "
        f"({where}: {first.get('msg')}).",
        code="malformed",
    )


def _check_asked(key: tuple[str, str], asked: set[str], billing_types: list[str]) -> None:
    if key[0] not in asked or key[1] not in billing_types:
        raise HubError(
            f"{settings.ICB_HUB_NAME} answered with usage we did not ask for.", code="malformed"
        )


@lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    """One TLS context per process: building one (loading the CA bundle) costs ~30 ms,
    and every sync job opens a client."""
    return ssl.create_default_context(cafile=certifi.where())


def _error_message(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"]["message"])[:300]
    except (ValueError, KeyError, TypeError):
        return f"HTTP {response.status_code}"
