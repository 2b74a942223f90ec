"""The guard of every paged read of the hub (hub/client.py): it follows the cursors and
stops a read that would not end."""

from __future__ import annotations

from django.conf import settings

from .errors import HubError


class Pages:
    """Follows the cursors of one paged read and stops a read that would not end: a
    cursor handed out twice, a page that brings nothing new yet promises more, or more
    pages than the request can have (one more is fetched, to tell a repeat from a hub
    that keeps paging)."""

    def __init__(self, what: str, max_pages: int):
        self.what = what
        self.max_pages = max(1, max_pages)
        self.pages = 0
        self.seen: set[str] = set()

    def next(self, cursor: str | None, *, progressed: bool) -> str | None:
        """The cursor of the next page (None: the read is complete), or HubError."""
        self.pages += 1
        if not cursor:
            return None
        name = settings.ICB_HUB_NAME
        if cursor in self.seen:
            raise self._stop(f"{name} kept answering the same page of {self.what}")
        if not progressed:
            raise self._stop(
                f"{name} sent a page of {self.what} with nothing new, yet said more would follow"
            )
        if self.pages > self.max_pages:  # checked after the repeats: their message is clearer
            raise self._stop(
                f"{name} sent more pages of {self.what} than the request can have "
                f"({self.max_pages})"
            )
        self.seen.add(cursor)
        return cursor

    @staticmethod
    def _stop(reason: str) -> HubError:
        return HubError(f"{reason}; the read was stopped.", code="paging")
