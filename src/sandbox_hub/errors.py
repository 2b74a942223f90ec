"""The one error type of the hub: an HTTP status, a machine code and a human message."""

from __future__ import annotations


class HubError(Exception):
    """Raised anywhere in the hub; the app turns it into
    ``{"error": {"code": ..., "message": ...}}`` with ``status``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict:
        return {"error": {"code": self.code, "message": self.message}}
