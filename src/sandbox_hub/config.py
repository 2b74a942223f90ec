"""Settings of one running hub."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

DEFAULT_REDIRECT_URI = "http://127.0.0.1:8000/admin/integrations/hub/callback/"


@dataclass(frozen=True)
class HubConfig:
    host: str = "127.0.0.1"
    port: int = 8100
    seed: int = 42
    organizations: int = 40  # per module, children included
    client_id: str = "icb"
    client_secret: str = "icb-sandbox-secret"
    client_name: str = "ICB"
    redirect_uris: tuple[str, ...] = (DEFAULT_REDIRECT_URI,)
    user: str = "demo"
    password: str = "demo"
    name: str = "Integration Hub"
    token_ttl: int = 3600  # seconds an access token lives
    refresh_grace: int = 60  # seconds a rotated refresh token is still accepted
    test_controls: bool = False
    secret_key: str | None = None  # signs the login cookie; random when not given
    today: date | None = None  # the hub's day; the clock's (UTC) when not given
    state_file: str | None = None  # where tokens and test-control changes are kept

    def __repr__(self) -> str:  # never show the secrets
        return (
            f"HubConfig(host={self.host!r}, port={self.port}, seed={self.seed}, "
            f"organizations={self.organizations}, client_id={self.client_id!r}, "
            f"test_controls={self.test_controls}, today={self.today}, "
            f"state_file={self.state_file!r})"
        )
