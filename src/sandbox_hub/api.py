"""Protocol v1 API: modules, organizations and the bulk usage query."""

from __future__ import annotations

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import MissingAuthorizationError
from authlib.oauth2.rfc6750 import InsufficientScopeError
from flask import Blueprint, Response, jsonify, request

from .errors import HubError
from .oauth import SCOPE
from .state import current_hub

bp = Blueprint("api", __name__, url_prefix="/api/v1")

CHALLENGE = 'Bearer realm="hub", error="invalid_token"'


@bp.before_request
def require_token() -> None:
    try:
        current_hub().protector.acquire_token([SCOPE])
    except MissingAuthorizationError:
        raise HubError(
            401,
            "invalid_token",
            "send 'Authorization: Bearer <access token>'",
            headers={"WWW-Authenticate": 'Bearer realm="hub"'},
        ) from None
    except InsufficientScopeError:
        raise HubError(
            403, "insufficient_scope", f"the access token lacks the {SCOPE!r} scope"
        ) from None
    except OAuth2Error:
        raise HubError(
            401,
            "invalid_token",
            "the access token is unknown, expired or revoked",
            headers={"WWW-Authenticate": CHALLENGE},
        ) from None


@bp.get("/modules", endpoint="modules")
def modules() -> Response:
    return jsonify(modules=current_hub().data.modules())


@bp.get("/modules/<module>/organizations", endpoint="organizations")
def organizations(module: str) -> Response:
    hub = current_hub()
    page = hub.data.list_organizations(
        module,
        cursor=request.args.get("cursor") or None,
        limit=request.args.get("limit"),
        repeat_cursor=hub.faults.repeats_cursor("organizations"),
    )
    return jsonify(page)


@bp.post("/usage/query", endpoint="usage")
def usage() -> Response:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise HubError(400, "invalid_json", "send a JSON object (Content-Type: application/json)")
    unknown = sorted(set(body) - {"module", "organization_ids", "billing_types", "cursor", "limit"})
    if unknown:
        raise HubError(400, "invalid_request", f"unknown field(s): {', '.join(unknown)}")
    if "module" not in body:
        raise HubError(400, "invalid_request", "'module' is required")
    hub = current_hub()
    result = hub.data.query_usage(
        body["module"],
        body.get("organization_ids"),
        billing_types=body.get("billing_types"),
        cursor=body.get("cursor"),
        limit=body.get("limit"),
        repeat_cursor=hub.faults.repeats_cursor("usage"),
    )
    return jsonify(result)
