"""Everything one running hub holds, reachable from any view as ``current_hub()``."""

from __future__ import annotations

import threading

from authlib.integrations.flask_oauth2 import ResourceProtector
from flask import current_app

from .config import HubConfig
from .data import HubData
from .faults import FaultInjector
from .oauth import Client, HubAuthorizationServer, resource_protector

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
        self.data = HubData(config.seed, config.organizations)
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

    def count(self, endpoint: str) -> None:
        with self._counts_lock:
            self._counts[endpoint] = self._counts.get(endpoint, 0) + 1

    def counts(self) -> dict[str, int]:
        with self._counts_lock:
            return dict(self._counts)

    def reset_counts(self) -> None:
        with self._counts_lock:
            self._counts = dict.fromkeys(COUNTED, 0)


def current_hub() -> Hub:
    return current_app.extensions["sandbox_hub"]
