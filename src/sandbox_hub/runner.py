"""Start the sandbox hub as a real HTTP server in a subprocess, for the product's tests
and benchmarks (the hub's own code does not use this module).

    handle = start_sandbox(organizations=60)
    try:
        handle.set_quantity("rmm", org_id, "servers", 7)
        ...  # talk to handle.url like any hub
    finally:
        handle.stop()

``start_sandbox`` picks a free port on 127.0.0.1, runs
``python -m sandbox_hub --port PORT --test-controls ...`` with this package's folder on
PYTHONPATH (so the package need not be installed), waits for ``GET /healthz`` and returns a
:class:`SandboxHandle` with thin wrappers over the ``/_sandbox/`` test controls.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import hashlib
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from .config import DEFAULT_REDIRECT_URI

SRC = Path(__file__).resolve().parents[1]  # the folder holding this package
START_TIMEOUT = 15.0


class SandboxError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pkce_pair() -> tuple[str, str]:
    """A PKCE ``(code_verifier, code_challenge)`` pair for the S256 method."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    challenge = base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")
    return verifier, challenge


def _csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    if not match:
        raise SandboxError("the consent page has no csrf_token field")
    return match.group(1)


@dataclass
class SandboxHandle:
    url: str
    port: int
    process: subprocess.Popen
    client_id: str
    client_secret: str
    redirect_uri: str
    user: str
    password: str
    seed: int
    organizations: int
    _log: IO[bytes] = field(repr=False)
    _http: httpx.Client = field(repr=False)

    # --- lifecycle --------------------------------------------------------------

    def stop(self) -> None:
        """Kill the hub and wait for it. Safe to call twice."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self._http.close()
        if not self._log.closed:
            self._log.close()
            with contextlib.suppress(OSError):
                os.unlink(self._log.name)

    def output(self) -> str:
        """What the hub printed so far (start line, request log, errors)."""
        if self._log.closed:
            return ""
        self._log.flush()
        with open(self._log.name, encoding="utf-8", errors="replace") as log:
            return log.read()

    def __enter__(self) -> SandboxHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- test controls ------------------------------------------------------------

    def _control(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._http.request(method, f"/_sandbox{path}", **kwargs)
        if response.status_code >= 400:
            raise SandboxError(
                f"{method} /_sandbox{path} -> {response.status_code}: {response.text}"
            )
        return response.json()

    def quantities(self, module: str, organization_id: str) -> dict[str, str]:
        params = {"module": module, "organization_id": organization_id}
        return self._control("GET", "/quantities", params=params)["quantities"]

    def set_quantity(
        self, module: str, organization_id: str, billing_type: str, quantity: Any
    ) -> dict:
        body = {
            "module": module,
            "organization_id": organization_id,
            "billing_type": billing_type,
            "quantity": quantity,
        }
        return self._control("PUT", "/quantities", json=body)

    def add_organization(
        self,
        module: str,
        name: str,
        *,
        id: str | None = None,
        parent_id: str | None = None,
        status: str | None = None,
        quantities: dict[str, Any] | None = None,
    ) -> dict:
        body: dict[str, Any] = {"module": module, "name": name}
        for key, value in (
            ("id", id),
            ("parent_id", parent_id),
            ("status", status),
            ("quantities", quantities),
        ):
            if value is not None:
                body[key] = value
        return self._control("POST", "/organizations", json=body)

    def remove_organization(self, module: str, organization_id: str) -> None:
        self._control("DELETE", f"/organizations/{module}/{organization_id}")

    def set_fault(self, **rule: Any) -> dict:
        """Add a fault rule, e.g. ``set_fault(endpoint="usage", kind="error", status=502)``."""
        return self._control("PUT", "/faults", json=rule)["fault"]

    def faults(self) -> list[dict]:
        return self._control("GET", "/faults")["faults"]

    def clear_faults(self) -> None:
        self._control("DELETE", "/faults")

    def expire_tokens(self) -> int:
        return self._control("POST", "/tokens/expire")["expired"]

    def request_counts(self) -> dict[str, int]:
        return self._control("GET", "/requests")["requests"]

    def reset_request_counts(self) -> None:
        self._control("DELETE", "/requests")

    def reset(self) -> None:
        """Generated data again, no faults, counters at zero (tokens stay valid)."""
        self._control("POST", "/reset")

    def today(self) -> date:
        """The hub's day: its data is that day's."""
        return date.fromisoformat(self._control("GET", "/today")["today"])

    def set_today(self, day: date | str | None) -> date:
        """Pin the hub's day (None: follow the clock again); returns it."""
        value = day.isoformat() if isinstance(day, date) else day
        return date.fromisoformat(self._control("PUT", "/today", json={"date": value})["today"])

    def advance(self, days: int = 1) -> date:
        """Move the hub's day on (the next nightly sync sees that day's quantities)."""
        return date.fromisoformat(self._control("PUT", "/today", json={"days": days})["today"])

    # --- OAuth helpers ------------------------------------------------------------

    def authorize_url(self, *, state: str, code_challenge: str, scope: str = "hub.read") -> str:
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": self.redirect_uri,
                "scope": scope,
                "state": state,
                "code_challenge": code_challenge,
                "code_challenge_method": "S256",
            }
        )
        return f"{self.url}/oauth/authorize?{query}"

    def approve(self, authorize_url: str, *, allow: bool = True) -> str:
        """Act as the person at the browser: sign in, then Allow (or Deny).

        Returns the URL the hub redirects to (the client's redirect URI with
        ``code`` and ``state``, or ``error=access_denied``).
        """
        with httpx.Client(timeout=10) as browser:
            page = browser.get(authorize_url)
            if page.status_code != 200 or 'name="username"' not in page.text:
                raise SandboxError(f"no sign-in page: {page.status_code} {page.text[:300]}")
            form = {"username": self.user, "password": self.password}
            consent = browser.post(authorize_url, data=form, follow_redirects=True)
            if consent.status_code != 200 or 'value="allow"' not in consent.text:
                raise SandboxError(f"no consent page: {consent.status_code} {consent.text[:300]}")
            decision = {
                "decision": "allow" if allow else "deny",
                "csrf_token": _csrf_token(consent.text),
            }
            answer = browser.post(authorize_url, data=decision)
            if answer.status_code != 302:
                raise SandboxError(f"no redirect: {answer.status_code} {answer.text[:300]}")
            return answer.headers["location"]

    def obtain_tokens(self, scope: str = "hub.read") -> dict:
        """Run the whole authorization code + PKCE flow; the token endpoint's answer."""
        verifier, challenge = pkce_pair()
        state = secrets.token_urlsafe(8)
        callback = self.approve(self.authorize_url(state=state, code_challenge=challenge))
        params = parse_qs(urlsplit(callback).query)
        if params.get("state") != [state] or "code" not in params:
            raise SandboxError(f"unexpected callback {callback}")
        response = self._http.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": params["code"][0],
                "redirect_uri": self.redirect_uri,
                "code_verifier": verifier,
            },
            auth=(self.client_id, self.client_secret),
        )
        if response.status_code != 200:
            raise SandboxError(f"token exchange failed: {response.status_code} {response.text}")
        return response.json()


def start_sandbox(
    *,
    seed: int = 42,
    organizations: int = 40,
    test_controls: bool = True,
    client_id: str = "icb",
    client_secret: str = "icb-sandbox-secret",  # noqa: S107  (the sandbox's published default)
    redirect_uri: str = DEFAULT_REDIRECT_URI,
    user: str = "demo",
    password: str = "demo",  # noqa: S107  (the sandbox's demo user)
    name: str | None = None,
    token_ttl: int | None = None,
    today: date | str | None = None,
    state_file: str | os.PathLike | None = None,
    extra_args: list[str] | tuple[str, ...] = (),
    timeout: float = START_TIMEOUT,
) -> SandboxHandle:
    """Start a sandbox hub on a free port of 127.0.0.1 and wait until it answers.

    ``redirect_uri`` may be a comma-separated list; the first one is used by the
    OAuth helpers. The hub's day is pinned to ``today``, by default the day it starts
    (UTC), so that a test session crossing midnight sees the same data; ``"clock"``
    lets it follow the clock. ``state_file`` keeps its tokens and test-control changes
    across a restart (``--state``). Raises :class:`SandboxError` with the hub's output
    if it does not come up within ``timeout`` seconds.
    """
    if today is None:
        today = datetime.now(UTC).date()
    day = None if today == "clock" else today.isoformat() if isinstance(today, date) else today
    last_error: SandboxError | None = None
    for _attempt in range(3):  # another process may grab the free port first
        try:
            return _start_once(
                seed=seed,
                organizations=organizations,
                test_controls=test_controls,
                client_id=client_id,
                client_secret=client_secret,
                redirect_uri=redirect_uri,
                user=user,
                password=password,
                name=name,
                token_ttl=token_ttl,
                today=day,
                state_file=None if state_file is None else os.fspath(state_file),
                extra_args=list(extra_args),
                timeout=timeout,
            )
        except SandboxError as error:
            if "cannot listen" not in str(error):
                raise
            last_error = error
    assert last_error is not None
    raise last_error


def _start_once(
    *,
    seed: int,
    organizations: int,
    test_controls: bool,
    client_id: str,
    client_secret: str,
    redirect_uri: str,
    user: str,
    password: str,
    name: str | None,
    token_ttl: int | None,
    today: str | None,
    state_file: str | None,
    extra_args: list[str],
    timeout: float,
) -> SandboxHandle:
    port = free_port()
    args = [
        sys.executable,
        "-m",
        "sandbox_hub",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--seed",
        str(seed),
        "--organizations",
        str(organizations),
        "--client-id",
        client_id,
        "--client-secret",
        client_secret,
        "--redirect-uri",
        redirect_uri,
        "--user",
        user,
        "--password",
        password,
    ]
    if name is not None:
        args += ["--name", name]
    if token_ttl is not None:
        args += ["--token-ttl", str(token_ttl)]
    if today is not None:
        args += ["--today", today]
    if state_file is not None:
        args += ["--state", state_file]
    if test_controls:
        args.append("--test-controls")
    args += extra_args

    # Options come from the command line only, not from a developer's SANDBOX_* variables.
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANDBOX_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"

    log = tempfile.NamedTemporaryFile(prefix="sandbox-hub-", suffix=".log", delete=False)
    process = subprocess.Popen(
        args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env
    )
    url = f"http://127.0.0.1:{port}"
    handle = SandboxHandle(
        url=url,
        port=port,
        process=process,
        client_id=client_id,
        client_secret=client_secret,
        redirect_uri=redirect_uri.split(",")[0].strip(),
        user=user,
        password=password,
        seed=seed,
        organizations=organizations,
        _log=log,
        _http=httpx.Client(base_url=url, timeout=10),
    )
    atexit.register(handle.stop)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            output = handle.output()
            handle.stop()
            raise SandboxError(f"sandbox hub exited with {process.returncode}:\n{output}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/healthz", timeout=0.5).status_code == 200:
                return handle
        if time.monotonic() > deadline:
            output = handle.output()
            handle.stop()
            raise SandboxError(f"sandbox hub did not answer within {timeout:.0f} s:\n{output}")
        time.sleep(0.05)
