"""Everything one running hub holds, reachable from any view as ``current_hub()``."""

from __future__ import annotations

import sys
import threading

from authlib.integrations.flask_oauth2 import ResourceProtector
from flask import current_app

from .config import HubConfig
from .data import HubData
from .faults import FaultInjector
from .oauth import Client, HubAuthorizationServer, resource_protector
from .statefile import export_tokens, import_tokens, read, write

# Requests are counted per endpoint under these names (see GET /_sandbox/requests).
COUNTED = (
    "healthz",
    "well_known",
    "authorize",
    "token",
    "revoke",
    "modules",
    "organizations",
    "usage",
)


class Hub:
    def __init__(self, config: HubConfig) -> None:
        self.config = config
        self.data = HubData(config.seed, config.organizations, today=config.today)
        self.faults = FaultInjector(config.seed)
        self.oauth = HubAuthorizationServer(
            Client(
                client_id=config.client_id,
                client_secret=config.client_secret,
                name=config.client_name,
                redirect_uris=list(config.redirect_uris),
            ),
            token_ttl=config.token_ttl,
            refresh_grace=config.refresh_grace,
        )
        self.protector: ResourceProtector = resource_protector(self.oauth)
        self._counts_lock = threading.Lock()
        self._counts = dict.fromkeys(COUNTED, 0)
        self._state_lock = threading.Lock()
        if config.state_file:
            self.load_state()

    def count(self, endpoint: str) -> None:
        with self._counts_lock:
            self._counts[endpoint] = self._counts.get(endpoint, 0) + 1

    def counts(self) -> dict[str, int]:
        with self._counts_lock:
            return dict(self._counts)

    def reset_counts(self) -> None:
        with self._counts_lock:
            self._counts = dict.fromkeys(COUNTED, 0)

    # --- the state file (--state) ------------------------------------------------------

    def load_state(self) -> None:
        """Take back tokens and test-control changes from the state file, if there is
        one. A file this hub cannot read is left alone (and overwritten at the next
        change), with a warning; changes made for another seed or size are skipped."""
        path = self.config.state_file
        assert path is not None
        try:
            state = read(path)
            if state is None:
                return
            import_tokens(self.oauth.store, state.get("tokens"))
            data = state.get("data")
            same = (state.get("seed"), state.get("organizations")) == (
                self.config.seed,
                self.config.organizations,
            )
            if isinstance(data, dict) and same:
                self.data.import_state(data)
            elif data:
                _warn(f"{path} was written for another seed or size; its data changes are not used")
        except (OSError, ValueError) as error:
            _warn(f"cannot read the state file {path} ({error}); starting afresh")

    def save_state(self) -> None:
        """Write the state file now (a no-op without one); a failure is reported, not raised."""
        path = self.config.state_file
        if not path:
            return
        with self._state_lock:
            state = {
                "seed": self.config.seed,
                "organizations": self.config.organizations,
                "tokens": export_tokens(self.oauth.store, self.oauth.refresh_grace),
                "data": self.data.export_state(),
            }
            try:
                write(path, state)
            except OSError as error:
                _warn(f"cannot write the state file {path}: {error}")


def _warn(message: str) -> None:
    print(f"sandbox-hub: {message}", file=sys.stderr, flush=True)


def current_hub() -> Hub:
    return current_app.extensions["sandbox_hub"]
