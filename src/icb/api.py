"""The JSON API under /api/v1/: authentication, error answers, and the routers of each app."""

import logging
import time
from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone
from ninja import NinjaAPI, Schema, Status
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import APIKeyCookie, HttpBearer

from icb.common.errors import ServiceError
from icb.tenancy.services import api_token_user

log = logging.getLogger(__name__)


def _bind_company(request, user):
    request.user = user
    request.company = user.company
    timezone.activate(user.company.zone)
    return user


class SessionAuth(APIKeyCookie):
    """The browser session; unsafe methods need the CSRF token (checked by ninja)."""

    param_name = "sessionid"

    def authenticate(self, request, key):
        user = request.user
        if user.is_authenticated and user.is_active and user.company_id:
            return _bind_company(request, user)
        return None


class TokenAuth(HttpBearer):
    def authenticate(self, request, token):
        user = api_token_user(token)
        return _bind_company(request, user) if user else None


ERROR_SCHEMA = {
    "title": "Error",
    "type": "object",
    "description": "Every error answer. Clients branch on `code`, not on `detail`'s wording.",
    "properties": {
        "detail": {"type": "string", "description": "A sentence for a person."},
        "code": {"type": "string", "description": "Machine-readable, e.g. not_found."},
        "errors": {
            "type": "object",
            "description": "Messages per field (dotted path for nested fields).",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
    "required": ["detail", "code", "errors"],
}
WRITES = ("post", "put", "patch", "delete")


def _errors_of(method: str, operation: dict) -> dict[int, str]:
    """The error answers an operation can give, as the handlers below make them."""
    errors = {422: "Invalid input (a field, the query or the path)."}
    if operation.get("security"):
        errors[401] = "No session and no valid Bearer API token."
        errors[403] = "The user's role does not allow this."
    if operation.get("parameters") or operation.get("requestBody"):
        errors[404] = "Something named by the path, query or body is unknown, or another company's."
    if operation.get("requestBody"):
        errors[400] = "The body is not JSON."
    if method in WRITES:
        errors[409] = "Refused in the current state (e.g. units that sync from the hub)."
    return errors


class IcbApi(NinjaAPI):
    def get_openapi_schema(self, *args, **kwargs):
        """Ninja documents only the answers each route declares; the error answers, made
        in one place below, are documented here for every route (one shared schema)."""
        schema = super().get_openapi_schema(*args, **kwargs)
        schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
        error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        for operations in schema["paths"].values():
            for method, operation in operations.items():
                responses = operation.setdefault("responses", {})
                for status, description in _errors_of(method, operation).items():
                    if status not in responses and str(status) not in responses:
                        responses[status] = {"description": description, "content": error}
        return schema


api = IcbApi(
    title="ICB API",
    version="1",
    description="Integrated Customer Billing. Money and units are decimal strings.",
    auth=[TokenAuth(), SessionAuth(csrf=True)],
    urls_namespace="api",
)


def _field_of(loc) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "payload", "data")]
    return ".".join(parts) or "body"


# The code of an error that carries none of its own, by HTTP status.
CODE_OF_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    422: "invalid",
    429: "rate_limited",
    502: "hub_unavailable",
}


def error_response(request, status: int, detail: str, *, code: str | None = None, errors=None):
    """Every API error answer is made here: {"detail", "code", "errors"}. Clients branch on
    `code` (docs/architecture.md, "Errors"), never on the wording of `detail`."""
    body = {
        "detail": detail,
        "code": code or CODE_OF_STATUS.get(status, "error"),
        "errors": errors or {},
    }
    return api.create_response(request, body, status=status)


@api.exception_handler(NinjaValidationError)
def on_validation_error(request, exc):
    errors: dict[str, list[str]] = {}
    for err in exc.errors:
        errors.setdefault(_field_of(err.get("loc", ())), []).append(err.get("msg", "Invalid."))
    field, messages = next(iter(errors.items()), ("body", ["Invalid input."]))
    return error_response(request, 422, f"{field}: {messages[0]}", errors=errors)


@api.exception_handler(ServiceError)
def on_service_error(request, exc: ServiceError):
    return error_response(request, exc.status, exc.message, code=exc.code, errors=exc.errors)


@api.exception_handler(PermissionDenied)
def on_permission_denied(request, exc):
    return error_response(request, 403, str(exc) or "Permission denied.")


@api.exception_handler(Http404)
def on_not_found(request, exc):
    return error_response(request, 404, "Not found.")


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request, exc):
    return error_response(request, 401, "Authentication required: a session or a Bearer API token.")


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    return error_response(request, exc.status_code, str(exc))


# The broker's answer is remembered this long per process: load balancers poll every
# web process every few seconds, and the broker need not hear about each poll.
BROKER_CHECK_SECONDS = 15.0
BROKER_TIMEOUT_SECONDS = 2.0
_broker_checks: dict[str, tuple[float, bool]] = {}


def _database_answers() -> bool:
    from django.db import DatabaseError, connection

    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        log.warning("Health: the database does not answer: %s", exc)
        return False
    return True


def _broker_answers(url: str) -> bool:
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=BROKER_TIMEOUT_SECONDS) as broker:
            broker.ensure_connection(
                max_retries=1, interval_start=0, interval_step=0, timeout=BROKER_TIMEOUT_SECONDS
            )
    except Exception as exc:  # any failure to connect means "down"
        log.warning("Health: the broker does not answer: %s", exc)
        return False
    return True


def _broker_up() -> bool:
    from django.conf import settings

    url = settings.CELERY_BROKER_URL
    checked = _broker_checks.get(url)
    now = time.monotonic()
    if checked is None or now - checked[0] >= BROKER_CHECK_SECONDS:
        checked = (now, _broker_answers(url))
        _broker_checks[url] = checked
    return checked[1]


class HealthOut(Schema):
    status: str  # "ok" or "unavailable"
    database: str  # "ok" or "down"
    broker: str  # "ok" or "down"
    time: datetime
    detail: str | None = None


@api.get("/health", auth=None, tags=["health"], response={200: HealthOut, 503: HealthOut})
def health(request):
    """Whether this web process can reach the database (`SELECT 1`) and the broker
    (checked at most every 15 seconds). 503 names what is down."""
    parts = {"database": _database_answers(), "broker": _broker_up()}
    down = [name for name, up in parts.items() if not up]
    body = {
        "status": "unavailable" if down else "ok",
        **{name: "ok" if up else "down" for name, up in parts.items()},
        "time": timezone.now(),
    }
    if down:
        return Status(503, {**body, "detail": f"Not available: {', '.join(down)}."})
    return body


def _register_routers() -> None:
    from icb.billing_sync.api import router as billing_sync_router
    from icb.contracts.api import router as contracts_router
    from icb.crm.api import router as crm_router
    from icb.hub.api import router as hub_router
    from icb.invoicing.api import router as invoicing_router
    from icb.mapping.api import router as mapping_router
    from icb.mapping.unmapped_api import router as unmapped_router
    from icb.notify.api import router as notify_router
    from icb.review.api import router as review_router
    from icb.review.preview_api import router as preview_router
    from icb.tenancy.api import router as tenancy_router

    api.add_router("/", tenancy_router)
    api.add_router("/", crm_router)
    api.add_router("/", contracts_router)
    api.add_router("/", hub_router)
    api.add_router("/", mapping_router)
    api.add_router("/", unmapped_router)
    api.add_router("/", billing_sync_router)
    api.add_router("/", notify_router)
    api.add_router("/", review_router)
    api.add_router("/", preview_router)
    api.add_router("/", invoicing_router)


_register_routers()
