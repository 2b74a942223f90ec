"""Reading the stored module catalogue and organization directory."""

import base64
import json

from django.db import connection
from django.db.models import Count, Prefetch, Q

from icb.common.errors import InvalidInput, NotFound
from icb.tenancy.models import Company

from .models import BillingType, Module, Organization


def module_list(*, company: Company, include_removed: bool = False) -> list[Module]:
    modules = Module.objects.for_company(company).prefetch_related(
        Prefetch("billing_types", queryset=BillingType.objects.filter(removed_at__isnull=True))
    )
    if not include_removed:
        modules = modules.filter(removed_at__isnull=True)
    return list(modules)


def module_get(*, company: Company, code: str) -> Module:
    module = Module.objects.for_company(company).filter(code=code).first()
    if module is None:
        raise NotFound(f"Unknown module “{code}”.", field="module")
    return module


def _encode_cursor(org: Organization) -> str:
    return base64.urlsafe_b64encode(json.dumps([org.name, org.external_id]).encode()).decode()


def _decode_cursor(cursor: str) -> tuple[str, str]:
    try:
        name, external_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        name, external_id = str(name), str(external_id)
        if "\x00" in name or "\x00" in external_id:  # a forged cursor; no name holds one
            raise ValueError
        return name, external_id
    except (ValueError, TypeError):
        raise InvalidInput(
            "The cursor is not valid; start again without it.", field="cursor"
        ) from None


# SQLite's trigram index (migration 0006) matches 3 characters or more. A search matching
# more organizations than this (in every module) reads them in name order instead,
# where its first page comes soon.
_INDEXED_SEARCH_LENGTH = 3
_INDEXED_SEARCH_MATCHES = 5000


def _search_candidates(search: str) -> list[int] | None:
    """On SQLite, the ids of the organizations (of every company and module) whose name
    or id contains the search in any case, from the trigram index: the candidates, which
    the "contains" filter still decides. None where the index does not help: on
    PostgreSQL (its trigram indexes serve the filter itself), a search too short for the
    index, or one matching too many organizations to be worth listing."""
    if connection.vendor != "sqlite" or len(search) < _INDEXED_SEARCH_LENGTH:
        return None
    phrase = '"' + search.replace('"', '""') + '"'  # the whole text, as one phrase
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rowid FROM hub_organization_search WHERE hub_organization_search MATCH %s "
            "LIMIT %s",
            [phrase, _INDEXED_SEARCH_MATCHES + 1],
        )
        ids = [row[0] for row in cursor.fetchall()]
    return ids if len(ids) <= _INDEXED_SEARCH_MATCHES else None


def organization_search(
    *,
    module: Module,
    search: str = "",
    parent: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
    include_removed: bool = True,
) -> tuple[list[Organization], str | None]:
    """A page of a module's organizations by name (then id), optionally matching a search
    on name or id, or only the children of one parent. Keyset paging: fast on any page."""
    limit = max(1, min(limit, 200))
    orgs = Organization.objects.for_company(module.company_id).filter(module=module)
    if not include_removed:
        orgs = orgs.filter(removed_at__isnull=True)
    if search:
        orgs = orgs.filter(Q(name__icontains=search) | Q(external_id__icontains=search))
        candidates = _search_candidates(search)
        if candidates is not None:
            orgs = orgs.filter(pk__in=candidates)
    if parent is not None:
        orgs = orgs.filter(parent_external_id=parent)
    if cursor:
        name, external_id = _decode_cursor(cursor)
        orgs = orgs.filter(Q(name__gt=name) | Q(name=name, external_id__gt=external_id))
    page = list(orgs.order_by("name", "external_id")[: limit + 1])
    next_cursor = _encode_cursor(page[limit - 1]) if len(page) > limit else None
    return page[:limit], next_cursor


def organization_counts(*, company: Company) -> dict[int, dict[str, int]]:
    """Per module id: organizations present and removed, in one query (one group per
    module: grouping by removal too made SQLite sort every organization, 3x slower)."""
    rows = (
        Organization.objects.for_company(company)
        .values("module_id")
        .annotate(n=Count("id"), removed=Count("removed_at"))
        .order_by()
    )
    return {
        row["module_id"]: {"present": row["n"] - row["removed"], "removed": row["removed"]}
        for row in rows
    }
