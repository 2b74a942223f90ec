"""Checks every request passes before any view sees it, and the page answer of the
errors that escape a page view. (The API answers its errors itself: icb/api.py.)"""

import json

from django.core.exceptions import BadRequest
from django.http import Http404, JsonResponse

from icb.common.errors import NotFound

NUL = "\x00"
NUL_MESSAGE = "The request holds a NUL character (\\u0000), which no field accepts."


def _nul_in_json(value, path: str) -> str | None:
    """The dotted path of the first string, key or value of parsed JSON holding a NUL."""
    if isinstance(value, str):
        return path if NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            if NUL in str(key):
                return inner
            found = _nul_in_json(item, inner)
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_in_json(item, f"{path}.{index}" if path else str(index))
            if found:
                return found
    return None


def _nul_in_query(query) -> str | None:
    for key, values in query.lists():
        if NUL in key or any(NUL in v for v in values):
            return key
    return None


def field_holding_nul(request) -> str | None:
    """The name of the first input holding a NUL character ("path" for the URL itself,
    "body" for a body that is not JSON), or None."""
    if NUL in request.path_info:
        return "path"
    found = _nul_in_query(request.GET)
    if found is not None or request.method in ("GET", "HEAD", "OPTIONS"):
        return found
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return _nul_in_query(request.POST) if request.method == "POST" else None
    body = request.body
    if b"\\u0000" not in body and b"\x00" not in body:  # how JSON spells a NUL, or a raw one
        return None
    try:
        return _nul_in_json(json.loads(body), "") or None
    except ValueError:
        return "body" if b"\x00" in body else None  # not JSON: the view refuses it anyway


class RefuseNulMiddleware:
    """Refuses a NUL character anywhere in a request's path, query or body, once, at the
    edge: PostgreSQL cannot store or compare text holding one (SQLite can), so letting it
    through would make the same input a 500 on one database and a result on the other.
    The API answers its usual 422 naming the field; a page answers the 400 page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        field = field_holding_nul(request)
        if field is not None:
            if request.path_info.startswith("/api/"):
                return JsonResponse(
                    {
                        "detail": f"{field}: {NUL_MESSAGE}",
                        "code": "invalid",
                        "errors": {field: [NUL_MESSAGE]},
                    },
                    status=422,
                )
            raise BadRequest(NUL_MESSAGE)
        return self.get_response(request)


class ServiceErrorMiddleware:
    """A `NotFound` from a selector (another company's id, an unknown id) is the 404 page,
    as Django's own Http404 would be."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, NotFound):
            raise Http404(exception.message) from exception
        return None
