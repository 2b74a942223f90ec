"""The state file (``--state FILE``): what the hub keeps across a restart.

It holds the issued tokens that can still be used (access tokens not yet expired,
refresh tokens not yet used or still in their grace period), with their expiry, the
changes made through the test controls (quantities, organizations added and removed,
the hub's day if a control set it) and the seed and size they apply to. The generated
data is not in it: the seed makes it again. Not kept: fault rules, request counters,
sign-in sessions and authorization codes (a sign-in in progress during a restart starts
again).

It is JSON, written to a temporary file beside it and renamed over it (so a crash
leaves the old or the new file, never half of one), with mode 0600: it holds tokens.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from dataclasses import fields
from pathlib import Path
from typing import Any

from .oauth import OAuthStore, Token

VERSION = 1
JSON_SCALARS = (str, int, float, bool, type(None))


def read(path: str | Path) -> dict | None:
    """The file's content, None when there is no file yet; ValueError when it is not a
    state file this hub can read."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    payload = json.loads(text)
    if not isinstance(payload, dict) or payload.get("version") != VERSION:
        raise ValueError(f"not a version {VERSION} sandbox hub state file")
    return payload


def write(path: str | Path, payload: dict) -> None:
    """Replace the file with ``payload`` in one step, readable by its owner only."""
    path = Path(path)
    descriptor, temporary = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or "."
    )  # created with mode 0600
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            json.dump({"version": VERSION, **payload}, out, indent=1)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


# --- tokens ------------------------------------------------------------------------------


def _usable(token: Token, now: float, grace: float) -> bool:
    if not token.access_revoked and not token.is_expired():
        return True
    if not token.refresh_token or token.refresh_revoked:
        return False
    # A refresh token already used once is still good during the grace period.
    return token.rotated_at is None or now - token.rotated_at < grace


def export_tokens(store: OAuthStore, grace: float = 0) -> list[dict]:
    """The tokens that can still be used, each field as JSON; a family (the tokens of one
    authorization) by a number, a reference to another token by its access token."""
    now = time.time()
    with store.lock:
        every = {id(t): t for t in [*store.by_access.values(), *store.by_refresh.values()]}
        kept = [t for t in every.values() if _usable(t, now, grace)]
        kept_ids = {id(t) for t in kept}
        families: dict[int, int] = {}
        items = []
        for token in kept:
            item: dict = {"family": families.setdefault(id(token.family), len(families))}
            for f in fields(token):
                value = getattr(token, f.name)
                if f.name == "family":
                    continue
                if isinstance(value, Token):
                    item[f.name] = {"token": value.access_token} if id(value) in kept_ids else None
                elif isinstance(value, JSON_SCALARS):
                    item[f.name] = value
            items.append(item)
        return items


def import_tokens(store: OAuthStore, items: object) -> int:
    """Put tokens from :func:`export_tokens` back into the store; how many were taken."""
    if not isinstance(items, list):
        return 0
    names = {f.name for f in fields(Token)} - {"family"}
    families: dict[object, list[Token]] = {}
    made: list[tuple[Token, dict]] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        plain: dict[str, Any] = {
            k: v for k, v in item.items() if k in names and isinstance(v, JSON_SCALARS)
        }
        try:
            token = Token(**plain)
        except TypeError:
            continue  # a field it needs is missing
        if not isinstance(token.access_token, str) or not token.access_token:
            continue
        token.family = families.setdefault(item.get("family"), [])
        token.family.append(token)
        made.append((token, item))
    by_access = {token.access_token: token for token, _ in made}
    for token, item in made:
        for name, value in item.items():
            if name in names and isinstance(value, dict):
                setattr(token, name, by_access.get(str(value.get("token"))))
    with store.lock:
        for token, _ in made:
            store.by_access[token.access_token] = token
            if token.refresh_token:
                store.by_refresh[token.refresh_token] = token
    return len(made)
