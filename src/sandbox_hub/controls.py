"""Test controls under ``/_sandbox/``: change data, inject faults, read counters.

Registered only when the hub runs with ``--test-controls``; no authentication.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Response, jsonify, request

from .data import parse_day
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


@bp.get("/today")
def get_today() -> Response:
    return jsonify(current_hub().data.today_json())


@bp.put("/today")
def set_today() -> Response:
    """``{"date": "YYYY-MM-DD"}`` pins the hub's day, ``{"days": 1}`` moves it on from
    the current one, ``{"date": null}`` follows the clock again."""
    body = _body()
    data = current_hub().data
    if set(body) == {"date"}:
        day = None if body["date"] is None else parse_day(body["date"])
    elif set(body) == {"days"}:
        days = body["days"]
        if isinstance(days, bool) or not isinstance(days, int) or abs(days) > 36500:
            raise HubError(400, "invalid_request", "days must be a whole number of days")
        day = data.today() + timedelta(days=days)
    else:
        raise HubError(400, "invalid_request", "send either 'date' or 'days'")
    return jsonify(data.set_today(day))


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
    """Back to the generated data (and the day the hub started with); no faults;
    counters at zero. Tokens stay valid."""
    hub = current_hub()
    hub.data.reset()
    hub.faults.clear()
    hub.reset_counts()
    return jsonify(status="ok")
