"""Gunicorn's access log without the secrets some addresses carry.

The hub sends the browser back to the OAuth callback with the sign-in code and state in
the query string. This logger class (``icb serve`` and ``icb run`` start gunicorn with
it) logs such a request, and any address or referrer that carries the callback's
address onward (the login page's ``?next=`` when the session had expired), without its
query string. Every other request is logged as gunicorn logs it."""

from urllib.parse import unquote, urlsplit

from gunicorn.glogging import Logger

# Kept in step with icb.hub.urls (a test checks); importing Django here is not possible:
# gunicorn creates its logger before it loads the application.
PRIVATE_QUERY_PATHS = ("/admin/integrations/hub/callback/",)
REMOVED = "[removed]"


def _is_private(uri: str | None) -> bool:
    if not uri or "?" not in uri:
        return False
    path, _, query = uri.partition("?")
    path = urlsplit(path).path or path
    return any(p in path or p in unquote(query) for p in PRIVATE_QUERY_PATHS)


def _without_query(uri: str) -> str:
    return uri.partition("?")[0] + "?" + REMOVED


class AccessLogger(Logger):
    def atoms(self, resp, req, wsgi_env, request_time):
        atoms = super().atoms(resp, req, wsgi_env, request_time)
        raw_uri = wsgi_env.get("RAW_URI", "")
        if _is_private(raw_uri):
            private = _without_query(raw_uri)
            atoms["r"] = f"{wsgi_env['REQUEST_METHOD']} {private} {wsgi_env['SERVER_PROTOCOL']}"
            atoms["q"] = REMOVED
            atoms["{raw_uri}e"] = private
            atoms["{query_string}e"] = REMOVED
            atoms["{request_uri}e"] = private
        referer = wsgi_env.get("HTTP_REFERER")
        if _is_private(referer):
            atoms["f"] = atoms["{referer}i"] = atoms["{http_referer}e"] = _without_query(referer)
        return atoms
