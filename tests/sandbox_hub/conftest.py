"""Fixtures for the sandbox hub's tests. No database: these never touch Django."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from sandbox_hub import HubConfig, create_app
from sandbox_hub.runner import SandboxHandle, start_sandbox


@pytest.fixture(scope="session")
def sandbox_process() -> Iterator[SandboxHandle]:
    """One real hub (a subprocess) for the whole session, with test controls."""
    handle = start_sandbox(seed=7, organizations=60)
    yield handle
    handle.stop()


@pytest.fixture
def sandbox(sandbox_process: SandboxHandle) -> Iterator[SandboxHandle]:
    """The session's hub, put back to its generated state after each test."""
    yield sandbox_process
    sandbox_process.reset()


@pytest.fixture
def api(sandbox: SandboxHandle) -> Iterator[httpx.Client]:
    """An HTTP client for ``/api/v1`` with a fresh access token."""
    token = sandbox.obtain_tokens()["access_token"]
    with httpx.Client(
        base_url=f"{sandbox.url}/api/v1",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    ) as client:
        yield client


@pytest.fixture
def app_client():
    """The app in-process (Flask's test client), with test controls."""
    app = create_app(HubConfig(seed=3, organizations=25, test_controls=True))
    return app.test_client()
