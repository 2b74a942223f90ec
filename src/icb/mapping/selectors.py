"""Reading mappings: the grid of the mapping page, one account's mappings, the picker's
organizations (with the account each one is mapped to), and the change history."""

from django.db import connection
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL

from icb.common.pagination import Page, paginate
from icb.crm.models import Account
from icb.crm.selectors import account_list
from icb.hub.models import Module, Organization
from icb.hub.selectors import organization_search
from icb.tenancy.models import Company, User

from .models import DefaultMappingColumns, Mapping, MappingChange, MappingColumns

MAX_COLUMNS = 3
MAPPINGS_COUNTED = 1000  # per module, to rank the default columns
GRID_PAGE_SIZE = 50
# On a fresh install (nothing mapped yet) the columns an MSP maps first: RMM, backup,
# documentation (by their usual module codes), then the others by name.
FIRST_MODULES = ("rmm", "backup", "bcdr", "docs", "documentation", "it_docs")


def organization_out(org: Organization) -> dict:
    return {
        "id": org.external_id,
        "name": org.name,
        "parent_id": org.parent_external_id or None,
        "removed": org.removed_at is not None,
        "status": org.status,
    }


def account_out(account: Account) -> dict:
    return {
        "id": account.pk,
        "name": account.name,
        "code": account.code,
        "active": account.is_active,
    }


def mapping_modules(*, company: Company) -> list[Module]:
    """The modules that can be mapped (present in the hub), in name order."""
    return list(
        Module.objects.for_company(company).filter(removed_at__isnull=True).order_by("name", "code")
    )


def _present(codes, modules: list[Module]) -> list[Module]:
    """The modules named by stored codes that are still present, in the stored order."""
    by_code = {m.code: m for m in modules}
    chosen = [by_code[c] for c in codes or [] if isinstance(c, str) and c in by_code]
    return list(dict.fromkeys(chosen))[:MAX_COLUMNS]


def company_default_codes(*, company: Company) -> list[str]:
    """The module codes an administrator set as the company's default columns ([] if
    none)."""
    stored = DefaultMappingColumns.objects.for_company(company).values_list(
        "module_codes", flat=True
    )
    return list(next(iter(stored), None) or [])


def most_mapped_columns(*, company: Company, modules: list[Module]) -> list[Module]:
    """The three modules with the most mappings, counted up to MAPPINGS_COUNTED each (a
    module past it is fully in use); ties (a fresh install: all at zero) go to RMM,
    backup and documentation first, then by name."""
    # Each module's first entries of the module index, not all of them: the mapping page
    # asks on every view, and must not slow down as the mappings grow (a count of all
    # 150,000 took 15 to 40 ms).
    quote = connection.ops.quote_name
    mapping_table, module_table = quote(Mapping._meta.db_table), quote(Module._meta.db_table)
    first_mappings = RawSQL(  # noqa: S611 (table names from the models, the cap a parameter)
        f"SELECT COUNT(*) FROM (SELECT 1 FROM {mapping_table} counted "  # noqa: S608
        f"WHERE counted.module_id = {module_table}.id LIMIT %s) first_mappings",
        [MAPPINGS_COUNTED],
    )
    counts = dict(
        Module.objects.for_company(company)
        .filter(pk__in=[m.pk for m in modules])
        .annotate(n=first_mappings)
        .order_by()
        .values_list("pk", "n")
    )

    def rank(module: Module):
        first = FIRST_MODULES.index(module.code) if module.code in FIRST_MODULES else 99
        return (-(counts.get(module.pk) or 0), first, module.name.lower(), module.code)

    return sorted(modules, key=rank)[:MAX_COLUMNS]


def company_default_columns(
    *, company: Company, modules: list[Module]
) -> tuple[list[Module], bool]:
    """The company's default columns, and whether an administrator chose them: their
    choice (its modules still present), else the most mapped modules."""
    chosen = _present(company_default_codes(company=company), modules)
    if chosen:
        return chosen, True
    return most_mapped_columns(company=company, modules=modules), False


def default_columns(*, company: Company, modules: list[Module]) -> list[Module]:
    return company_default_columns(company=company, modules=modules)[0]


def chosen_columns(
    *, user: User, modules: list[Module], default: list[Module] | None = None
) -> list[Module]:
    """The user's own module columns (those still present), else the company's default
    (`default` if the caller has it already)."""
    stored = MappingColumns.objects.filter(user=user).values_list("module_codes", flat=True)
    chosen = _present(next(iter(stored), None), modules)
    if chosen or user.company is None:
        return chosen
    if default is not None:
        return default
    return default_columns(company=user.company, modules=modules)


def mappings_by_account(*, account_ids: list[int], modules: list[Module]) -> dict[int, dict]:
    """{account id: {module code: [organization, ...]}} for these accounts and modules, with
    every module present (empty lists included). One query."""
    codes = {m.pk: m.code for m in modules}
    result: dict[int, dict[str, list[dict]]] = {
        account_id: {code: [] for code in codes.values()} for account_id in account_ids
    }
    if not account_ids or not codes:
        return result
    rows = (
        Mapping.objects.filter(account_id__in=account_ids, module_id__in=list(codes))
        .select_related("organization")
        .order_by("organization__name", "organization__external_id")
    )
    for row in rows:
        result[row.account_id][codes[row.module_id]].append(organization_out(row.organization))
    return result


def account_mappings(*, account: Account) -> dict[str, list[dict]]:
    """Every mappable module of the account's company, with the account's organizations."""
    modules = mapping_modules(company=account.company)
    return mappings_by_account(account_ids=[account.pk], modules=modules)[account.pk]


def mapping_grid(
    *,
    company: Company,
    modules: list[Module],
    name: str | None = None,
    code: str | None = None,
    active: bool | None = None,
    page: int | str | None = 1,
) -> tuple[Page, dict[int, dict]]:
    """A page of accounts (filtered, name order) and their mappings in these modules:
    a count, the page and the mappings, so three queries whatever the page."""
    accounts = account_list(company=company, name=name, code=code, active=active)
    accounts_page = paginate(accounts, page, GRID_PAGE_SIZE)
    mappings = mappings_by_account(account_ids=[a.pk for a in accounts_page.items], modules=modules)
    return accounts_page, mappings


def organization_options(
    *, module: Module, search: str = "", cursor: str | None = None, limit: int = 30
) -> tuple[list[dict], str | None]:
    """The picker's list: organizations matching the search, grouped as parents with their
    children beneath (a matching parent brings its children, a matching child its parent),
    each with the account it is mapped to. A constant number of queries."""
    matched, next_cursor = organization_search(
        module=module, search=search, cursor=cursor, limit=limit
    )
    by_id = {o.external_id: o for o in matched}
    parent_ids = {o.parent_external_id for o in matched if o.parent_external_id} - set(by_id)
    extra: list[Organization] = []
    if parent_ids:
        extra += list(Organization.objects.filter(module=module, external_id__in=parent_ids))
    roots = [o.external_id for o in matched if not o.parent_external_id]
    if roots:
        extra += list(
            Organization.objects.filter(module=module, parent_external_id__in=roots)
            .exclude(external_id__in=list(by_id))
            .order_by("name")[:200]
        )
    for org in extra:
        by_id.setdefault(org.external_id, org)
    children: dict[str, list[Organization]] = {}
    top: list[Organization] = []
    for org in sorted(by_id.values(), key=lambda o: (o.name.lower(), o.external_id)):
        parent = org.parent_external_id
        if parent and parent in by_id:
            children.setdefault(parent, []).append(org)
        else:
            top.append(org)
    mapped = {
        m.organization_id: m.account
        for m in Mapping.objects.filter(
            organization_id__in=[o.pk for o in by_id.values()]
        ).select_related("account")
    }
    items: list[dict] = []

    def add(org: Organization, depth: int) -> None:
        account = mapped.get(org.pk)
        items.append(
            {
                **organization_out(org),
                "depth": depth,
                "mapped_to": account_out(account) if account else None,
            }
        )
        for child in children.get(org.external_id, []):
            add(child, depth + 1)

    for org in top:
        add(org, 0)
    return items, next_cursor


def mapping_changes(*, company: Company, account_id: int | None = None) -> QuerySet:
    changes = MappingChange.objects.for_company(company).select_related("user", "account")
    if account_id is not None:
        changes = changes.filter(account_id=account_id)
    return changes.order_by("-changed_at", "-id")


def module_names(*, company: Company) -> dict[str, str]:
    """{module code: name} of every module the company's hub reported (removed ones
    too: a change names its module by code, and keeps it after the module is gone)."""
    return dict(Module.objects.for_company(company).values_list("code", "name"))


RECENT_CHANGES = 10


def recent_changes(*, account: Account) -> list[MappingChange]:
    """The account's latest mapping changes, newest first."""
    return list(mapping_changes(company=account.company, account_id=account.pk)[:RECENT_CHANGES])


def mapped_elsewhere(*, organization_ids: list[int], account_id: int) -> list[Mapping]:
    """Mappings of these organizations to another account (for error messages)."""
    return list(
        Mapping.objects.filter(organization_id__in=organization_ids)
        .filter(~Q(account_id=account_id))
        .select_related("account", "organization")
    )
