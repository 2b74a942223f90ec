"""The Flask application of the sandbox hub: ``create_app(config)``."""

from __future__ import annotations

import secrets

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from .config import HubConfig
from .errors import HubError
from .faults import ENDPOINTS as FAULT_ENDPOINTS
from .state import Hub, current_hub

PROTOCOL_VERSION = "1"

# Flask endpoint name -> the name requests are counted and faults are aimed by.
ENDPOINT_NAMES = {
    "healthz": "healthz",
    "well_known": "well_known",
    "oauth.authorize": "authorize",
    "oauth.token": "token",
    "oauth.revoke": "revoke",
    "api.modules": "modules",
    "api.organizations": "organizations",
    "api.usage": "usage",
}

# Requests after which the state file (--state) is written: the token endpoint issues and
# rotates tokens, revocation revokes them, a test control changes data.
# The requests that change what the state file holds (tokens and the test controls'
# changes; not faults or request counters), after which it is written.
SAVED_AFTER = (
    "oauth.token",
    "oauth.revoke",
    "controls.set_quantity",
    "controls.add_organization",
    "controls.remove_organization",
    "controls.set_today",
    "controls.expire_tokens",
    "controls.reset",
)

MALFORMED_BODY = b"<html><body><h1>502 Bad Gateway</h1><p>upstream reset</p></body></html>"


def error_response(error: HubError) -> Response:
    response = jsonify(error.body())
    response.status_code = error.status
    for name, value in error.headers.items():
        response.headers[name] = value
    return response


def create_app(config: HubConfig | None = None) -> Flask:
    config = config or HubConfig()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=config.secret_key or secrets.token_hex(32),
        # Not "session": the product may run on the same host name, and cookies
        # do not care about ports.
        SESSION_COOKIE_NAME="sandbox_hub_session",
        SESSION_COOKIE_SAMESITE="Lax",
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["sandbox_hub"] = Hub(config)

    from .api import bp as api_bp
    from .authorize import bp as oauth_bp

    app.register_blueprint(oauth_bp)
    app.register_blueprint(api_bp)
    if config.test_controls:
        from .controls import bp as controls_bp

        app.register_blueprint(controls_bp)

    @app.before_request
    def count_and_inject_faults() -> Response | None:
        name = ENDPOINT_NAMES.get(request.endpoint or "")
        if name is None:
            return None
        hub = current_hub()
        hub.count(name)
        if name in FAULT_ENDPOINTS:
            error = hub.faults.before(name)
            if error is not None:
                return error_response(error)
        return None

    @app.after_request
    def break_successful_answers(response: Response) -> Response:
        name = ENDPOINT_NAMES.get(request.endpoint or "")
        if name not in FAULT_ENDPOINTS or response.status_code != 200:
            return response
        kind = current_hub().faults.after(name)
        if kind == "malformed":
            response.set_data(MALFORMED_BODY)
        elif kind == "truncated":
            body = response.get_data()
            response.set_data(body[: max(1, len(body) // 2)])
        return response

    @app.after_request
    def keep_state(response: Response) -> Response:
        endpoint = request.endpoint or ""
        if (
            config.state_file
            and request.method not in ("GET", "HEAD", "OPTIONS")
            and endpoint in SAVED_AFTER
        ):
            current_hub().save_state()
        return response

    @app.errorhandler(HubError)
    def hub_error(error: HubError) -> Response:
        return error_response(error)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        code = (error.name or "error").lower().replace(" ", "_")
        response = error_response(HubError(error.code or 500, code, error.description or ""))
        if error.code == 405 and error.response is None:
            allowed = getattr(error, "valid_methods", None)
            if allowed:
                response.headers["Allow"] = ", ".join(allowed)
        return response

    @app.get("/", endpoint="home")
    def home() -> Response:
        """What this is, for a person who opens the hub's address in a browser."""
        hub = current_hub()
        page = render_template(
            "home.html",
            hub_name=config.name,
            config=config,
            default_password=config.password == "demo",
            today=hub.data.today_json(),
            modules=hub.data.modules(),
            base=request.host_url.rstrip("/"),
        )
        return Response(page, content_type="text/html; charset=utf-8")

    @app.get("/healthz", endpoint="healthz")
    def healthz() -> Response:
        return jsonify(status="ok")

    @app.get("/.well-known/hub", endpoint="well_known")
    def well_known() -> Response:
        base = request.host_url.rstrip("/")
        return jsonify(
            {
                "protocol_version": PROTOCOL_VERSION,
                "name": config.name,
                "authorization_endpoint": f"{base}/oauth/authorize",
                "token_endpoint": f"{base}/oauth/token",
                "revocation_endpoint": f"{base}/oauth/revoke",
                "api_base": f"{base}/api/v1",
                "scopes_supported": ["hub.read"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                ],
            }
        )

    return app
