"""Errors raised by services and selectors; the API and the pages turn them into answers
in one place (icb/api.py, icb/web/middleware.py).

Each class has an HTTP status and a default machine-readable `code`; a service may pass a
more specific code where a client would branch on it (e.g. "duplicate_code"). The codes
are listed in docs/architecture.md ("Errors")."""


class ServiceError(Exception):
    status = 400
    code = "invalid"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        errors: dict | None = None,
        code: str | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.errors = errors or ({field: [message]} if field else {})
        if code is not None:
            self.code = code

    @property
    def field_errors(self) -> dict:
        """The messages by field, the whole error under "__all__" when it names none
        (what a form shows; the API answers `errors` as it is)."""
        return self.errors or {"__all__": [self.message]}


class InvalidInput(ServiceError):
    status = 422
    code = "invalid"


class NotFound(ServiceError):
    """Nothing with this id, or not the caller's company's: the API answers 404 and a
    page shows the 404 page."""

    status = 404
    code = "not_found"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class UpstreamError(ServiceError):
    """The hub (or another service we depend on) failed; nothing was changed here."""

    status = 502
    code = "hub_unavailable"
