"""A standalone sandbox integration hub implementing hub protocol v1.

It serves generated, deterministic data (modules, organizations, usage quantities)
behind an OAuth 2 authorization server, with optional test controls for changing
data and injecting faults. See docs/hub-protocol.md. It does not import the product.
"""

from .app import PROTOCOL_VERSION, create_app
from .config import HubConfig

__all__ = ["PROTOCOL_VERSION", "HubConfig", "create_app"]
