"""OAuth 2 endpoints: the sign-in and consent pages, the token and revocation endpoints."""

from __future__ import annotations

import hmac
import secrets

from authlib.oauth2 import OAuth2Error
from flask import Blueprint, Response, redirect, render_template, request, session

from .state import current_hub

bp = Blueprint("oauth", __name__, url_prefix="/oauth")

USER_KEY = "hub_user"
CSRF_KEY = "consent_csrf"


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def _page(template: str, status: int = 200, **context) -> Response:
    hub = current_hub()
    response = Response(
        render_template(template, hub_name=hub.config.name, **context),
        status=status,
        content_type="text/html; charset=utf-8",
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    return response


def _consent_page(client_name: str, user: str, status: int = 200, error: str | None = None):
    token = secrets.token_urlsafe(24)
    session[CSRF_KEY] = token
    return _page(
        "consent.html", status, client_name=client_name, user=user, csrf_token=token, error=error
    )


@bp.route("/authorize", methods=["GET", "POST"], endpoint="authorize")
def authorize() -> Response:
    hub = current_hub()
    server = hub.oauth
    user = session.get(USER_KEY)
    try:
        grant = server.get_consent_grant(end_user=user)
    except OAuth2Error as error:
        if error.redirect_uri:
            # The client and its redirect URI are known: tell the client what is wrong.
            return server.handle_error_response(None, error)
        return _page(
            "error.html",
            400,
            error=error.error,
            description=error.get_error_description(),
        )
    client_name = grant.client.name

    if request.method == "POST":
        form = request.form
        if "cancel" in form or form.get("decision") == "deny":
            return server.create_authorization_response(grant=grant, grant_user=None)
        if "logout" in form:
            session.pop(USER_KEY, None)
            return redirect(request.url, code=303)
        if "username" in form or "password" in form:
            username = form.get("username", "").strip()
            password = form.get("password", "")
            if _same(username, hub.config.user) and _same(password, hub.config.password):
                session[USER_KEY] = username
                return redirect(request.url, code=303)  # show the consent page
            return _page(
                "login.html",
                client_name=client_name,
                username=username,
                error="Incorrect username or password.",
            )
        if form.get("decision") == "allow" and user:
            expected = session.pop(CSRF_KEY, "")
            if not expected or not _same(form.get("csrf_token", ""), expected):
                return _consent_page(
                    client_name, user, 400, error="This page expired. Please choose again."
                )
            return server.create_authorization_response(grant=grant, grant_user=user)

    if not user:
        return _page("login.html", client_name=client_name, username="", error=None)
    return _consent_page(client_name, user)


@bp.post("/token", endpoint="token")
def token() -> Response:
    return current_hub().oauth.create_token_response()


@bp.post("/revoke", endpoint="revoke")
def revoke() -> Response:
    return current_hub().oauth.create_endpoint_response("revocation")
