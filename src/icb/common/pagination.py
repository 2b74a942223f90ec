"""One pagination for pages and API: page numbers, clamped, with the total count."""

from dataclasses import dataclass

from django.core.paginator import Paginator

MAX_PAGE_SIZE = 200


@dataclass
class Page:
    items: list
    count: int
    page: int
    pages: int
    page_size: int

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def paginate(queryset, page, page_size: int = 50) -> Page:
    try:
        page = int(page)
    except (TypeError, ValueError):
        page = 1
    page_size = max(1, min(int(page_size or 50), MAX_PAGE_SIZE))
    paginator = Paginator(queryset, page_size)
    number = min(max(page, 1), paginator.num_pages)
    items = list(paginator.page(number).object_list)
    return Page(
        items=items,
        count=paginator.count,
        page=number,
        pages=paginator.num_pages,
        page_size=page_size,
    )


def paginate_by_ids(queryset, page, page_size: int = 50) -> Page:
    """As paginate, for a long list whose order an index holds with the ids: the offset
    is walked over the ids alone (in the index, not the table, and without the joins of
    select_related), then only the page's rows are read. The last page of 150,000 rows
    costs what the first does, give or take a walk along the index."""
    ids = paginate(queryset.values_list("pk", flat=True), page, page_size)
    ids.items = list(queryset.filter(pk__in=ids.items))  # the queryset's own order
    return ids
