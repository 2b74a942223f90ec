"""Test controls under ``/_sandbox/``: change data, inject faults, read counters.

Registered only when the hub runs with ``--test-controls``; no authentication.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from .errors import HubError
from .state import current_hub

bp = Blueprint("controls", __name__, url_prefix="/_sandbox")


def _body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise HubError(400, "invalid_json", "send a JSON object (Content-Type: application/json)")
    return body


@bp.get("/quantities")
def get_quantities() -> Response:
    return jsonify(
        current_hub().data.get_quantities(
            request.args.get("module"), request.args.get("organization_id")
        )
    )


@bp.put("/quantities")
def set_quantity() -> Response:
    body = _body()
    for key in ("module", "organization_id", "billing_type", "quantity"):
        if key not in body:
            raise HubError(400, "invalid_request", f"{key!r} is required")
    return jsonify(
        current_hub().data.set_quantity(
            body["module"], body["organization_id"], body["billing_type"], body["quantity"]
        )
    )


@bp.post("/organizations")
def add_organization() -> tuple[Response, int]:
    body = _body()
    unknown = sorted(set(body) - {"module", "id", "name", "parent_id", "status", "quantities"})
    if unknown:
        raise HubError(400, "invalid_request", f"unknown field(s): {', '.join(unknown)}")
    org = current_hub().data.add_organization(
        body.get("module"),
        body.get("name"),
        org_id=body.get("id"),
        parent_id=body.get("parent_id"),
        status=body.get("status"),
        quantities=body.get("quantities"),
    )
    return jsonify(org), 201


@bp.delete("/organizations/<module>/<path:organization_id>")
def remove_organization(module: str, organization_id: str) -> Response:
    current_hub().data.remove_organization(module, organization_id)
    return jsonify(removed={"module": module, "id": organization_id})


@bp.get("/faults")
def list_faults() -> Response:
    return jsonify(faults=current_hub().faults.rules())


@bp.put("/faults")
def add_fault() -> Response:
    faults = current_hub().faults
    rule = faults.add(_body())
    return jsonify(fault=rule.as_json(), faults=faults.rules())


@bp.delete("/faults")
def clear_faults() -> Response:
    current_hub().faults.clear()
    return jsonify(faults=[])


@bp.delete("/faults/<int:fault_id>")
def remove_fault(fault_id: int) -> Response:
    faults = current_hub().faults
    if not faults.remove(fault_id):
        raise HubError(404, "unknown_fault", f"no fault rule {fault_id}")
    return jsonify(faults=faults.rules())


@bp.post("/tokens/expire")
def expire_tokens() -> Response:
    return jsonify(expired=current_hub().oauth.store.expire_access_tokens())


@bp.get("/requests")
def request_counts() -> Response:
    return jsonify(requests=current_hub().counts())


@bp.delete("/requests")
def reset_request_counts() -> Response:
    hub = current_hub()
    hub.reset_counts()
    return jsonify(requests=hub.counts())


@bp.post("/reset")
def reset() -> Response:
    """Back to the generated data; no faults; counters at zero. Tokens stay valid."""
    hub = current_hub()
    hub.data.reset()
    hub.faults.clear()
    hub.reset_counts()
    return jsonify(status="ok")
