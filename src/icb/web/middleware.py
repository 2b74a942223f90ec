"""Checks every request passes before any view sees it."""

import json

from django.core.exceptions import BadRequest
from django.http import JsonResponse

NUL = "\x00"
NUL_MESSAGE = "The request holds a NUL character (\\u0000), which no field accepts."


def _holds_nul(value) -> bool:
    """Whether a parsed JSON value holds a NUL in any string, key or value."""
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


def _query_holds_nul(query) -> bool:
    return any(NUL in key or any(NUL in v for v in values) for key, values in query.lists())


def request_holds_nul(request) -> bool:
    if NUL in request.path_info or _query_holds_nul(request.GET):
        return True
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return False
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return request.method == "POST" and _query_holds_nul(request.POST)
    body = request.body
    if b"\x00" in body:
        return True
    if b"\\u0000" not in body:  # the only way JSON can spell a NUL
        return False
    try:
        return _holds_nul(json.loads(body))
    except ValueError:
        return False  # not JSON: the view refuses it as it would anyway


class RefuseNulMiddleware:
    """Refuses a NUL character anywhere in a request's path, query or body, once, at the
    edge: PostgreSQL cannot store or compare text holding one (SQLite can), so letting it
    through would make the same input a 500 on one database and a result on the other.
    The API answers its usual JSON error; a page answers the 400 page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request_holds_nul(request):
            if request.path_info.startswith("/api/"):
                return JsonResponse(
                    {"detail": NUL_MESSAGE, "code": "invalid", "errors": {}}, status=400
                )
            raise BadRequest(NUL_MESSAGE)
        return self.get_response(request)
