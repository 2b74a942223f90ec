"""Changing mappings. Changes are deltas per cell (account × module: organizations to add
and to remove), applied all together or not at all, so a later save never undoes another
person's changes to cells it did not touch. Every real change is recorded."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from icb.common.errors import Conflict, InvalidInput
from icb.common.validation import MAX_ID
from icb.crm.models import Account
from icb.hub.models import Module, Organization, OrganizationStatus
from icb.tenancy.models import Company, User

from .models import (
    DefaultMappingColumns,
    Mapping,
    MappingChange,
    MappingChangeAction,
    MappingColumns,
)
from .selectors import MAX_COLUMNS, mapping_modules

MAX_CELLS = 2000
MAX_PER_CELL = 1000


@dataclass
class CellChange:
    """Organizations (hub ids) to add to and remove from one account in one module."""

    account_id: int
    module: str
    add: list[str] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)


def _default_where(index: int, name: str) -> str:
    return f"changes.{index}.{name}"


def _resolve_modules(company: Company, changes: list[CellChange], where) -> dict[str, Module]:
    codes = {c.module for c in changes}
    modules = {m.code: m for m in Module.objects.filter(company=company, code__in=codes)}
    for i, change in enumerate(changes):
        module = modules.get(change.module)
        if module is None or module.removed_at is not None:
            raise InvalidInput(f"Unknown module “{change.module}”.", field=where(i, "module"))
    return modules


def _resolve_accounts(company: Company, changes: list[CellChange], where) -> dict[int, Account]:
    ids = {c.account_id for c in changes}
    accounts = Account.objects.filter(company=company, pk__in=ids).in_bulk()
    for i, change in enumerate(changes):
        if change.account_id not in accounts:
            raise InvalidInput(
                f"Unknown account {change.account_id}.", field=where(i, "account_id")
            )
    return accounts


def _resolve_organizations(
    company: Company, changes: list[CellChange], modules: dict[str, Module], where
) -> dict[tuple[int, str], Organization]:
    """Lock and load every organization named, per (module id, hub id); refuse unknown ones,
    and say so when an organization belongs to another module."""
    wanted: dict[int, set[str]] = {}
    for change in changes:
        wanted.setdefault(modules[change.module].pk, set()).update(change.add, change.remove)
    found: dict[tuple[int, str], Organization] = {}
    for module_id, ext_ids in wanted.items():
        if not ext_ids:
            continue
        # Locked in id order, so two saves naming the same organizations cannot deadlock
        # and cannot both map one of them.
        orgs = (
            Organization.objects.select_for_update()
            .filter(company=company, module_id=module_id, external_id__in=ext_ids)
            .order_by("pk")
        )
        for org in orgs:
            found[(module_id, org.external_id)] = org
    for i, change in enumerate(changes):
        module = modules[change.module]
        for key, ids in (("add", change.add), ("remove", change.remove)):
            for ext_id in ids:
                if (module.pk, ext_id) in found:
                    continue
                elsewhere = (
                    Organization.objects.filter(company=company, external_id=ext_id)
                    .exclude(module=module)
                    .select_related("module")
                    .first()
                )
                if elsewhere is not None:
                    raise InvalidInput(
                        f"Organization “{ext_id}” belongs to module “{elsewhere.module.code}”, "
                        f"not “{module.code}”.",
                        field=where(i, key),
                    )
                raise InvalidInput(
                    f"Unknown organization “{ext_id}” in module “{module.code}”.",
                    field=where(i, key),
                )
    return found


def _check_shape(changes: list[CellChange], where) -> None:
    if len(changes) > MAX_CELLS:
        raise InvalidInput(f"At most {MAX_CELLS} cells can be saved at once.", field="changes")
    cells: set[tuple[int, str]] = set()
    added_to: dict[tuple[str, str], int] = {}
    for i, change in enumerate(changes):
        if not isinstance(change.module, str) or not change.module or "\x00" in change.module:
            raise InvalidInput("Name the module by its code.", field=where(i, "module"))
        if not isinstance(change.account_id, int) or not 0 < change.account_id <= MAX_ID:
            raise InvalidInput(
                f"Unknown account {change.account_id}.", field=where(i, "account_id")
            )
        cell = (change.account_id, change.module)
        if cell in cells:
            raise InvalidInput(
                "The same account and module appear twice; send one change per cell.",
                field=where(i, "module"),
            )
        cells.add(cell)
        for key, ids in (("add", change.add), ("remove", change.remove)):
            if len(ids) > MAX_PER_CELL:
                raise InvalidInput(
                    f"At most {MAX_PER_CELL} organizations per cell.", field=where(i, key)
                )
            if len(set(ids)) != len(ids):
                raise InvalidInput("An organization is named twice.", field=where(i, key))
            for ext_id in ids:
                if (
                    not isinstance(ext_id, str)
                    or not ext_id
                    or len(ext_id) > 128
                    or "\x00" in ext_id
                ):
                    raise InvalidInput(
                        "Organization ids are non-empty strings.", field=where(i, key)
                    )
        both = set(change.add) & set(change.remove)
        if both:
            raise InvalidInput(
                f"Organization “{sorted(both)[0]}” is both added and removed.",
                field=where(i, "add"),
            )
        for ext_id in change.add:
            other = added_to.get((change.module, ext_id))
            if other is not None and other != change.account_id:
                raise InvalidInput(
                    f"Organization “{ext_id}” cannot be mapped to two accounts "
                    f"({other} and {change.account_id}).",
                    field=where(i, "add"),
                )
            added_to[(change.module, ext_id)] = change.account_id


def apply_changes(
    *,
    company: Company,
    user: User | None,
    changes: list[CellChange],
    where: Callable[[int, str], str] = _default_where,
) -> list[int]:
    """Apply every cell change or none. Adding an organization already mapped to that
    account and removing one not mapped to it are no-ops (someone else did it first).
    Returns the ids of the accounts touched. `where(index, name)` names the field of an
    error (by default "changes.<index>.<name>")."""
    _check_shape(changes, where)
    if not changes:
        return []
    try:
        with transaction.atomic():
            _apply(company, user, changes, where)
    except IntegrityError:
        # The database refused a second account for an organization: someone mapped it
        # between our check and our write. Name the account that holds it now.
        raise _conflict_after_race(company, changes) from None
    return list(dict.fromkeys(c.account_id for c in changes))


def _apply(company: Company, user: User | None, changes: list[CellChange], where) -> None:
    modules = _resolve_modules(company, changes, where)
    accounts = _resolve_accounts(company, changes, where)
    orgs = _resolve_organizations(company, changes, modules, where)
    existing = _current_mappings([o.pk for o in orgs.values()])
    removing = {}  # organization id -> account id it is removed from
    for change in changes:
        module = modules[change.module]
        for ext_id in change.remove:
            org = orgs[(module.pk, ext_id)]
            current = existing.get(org.pk)
            if current is not None and current.account_id == change.account_id:
                removing[org.pk] = change.account_id
    now = timezone.now()
    to_create: list[Mapping] = []
    history: list[MappingChange] = []
    for i, change in enumerate(changes):
        module = modules[change.module]
        account = accounts[change.account_id]
        for ext_id in change.add:
            org = orgs[(module.pk, ext_id)]
            current = existing.get(org.pk)
            if current is not None and current.account_id == account.pk:
                continue
            if current is not None and org.pk not in removing:
                raise Conflict(
                    f"Organization “{org.name}” ({org.external_id}) is already mapped to "
                    f"account “{current.account.name}”.",
                    field=where(i, "add"),
                    code="already_mapped",
                )
            if org.removed_at is not None:
                raise InvalidInput(
                    f"Organization “{org.name}” ({org.external_id}) was removed from "
                    f"{settings.ICB_HUB_NAME} and cannot be newly mapped.",
                    field=where(i, "add"),
                )
            if org.status != OrganizationStatus.ACTIVE:
                raise InvalidInput(
                    f"Organization “{org.name}” ({org.external_id}) is "
                    f"{org.get_status_display().lower()} and cannot be newly mapped.",
                    field=where(i, "add"),
                )
            to_create.append(
                Mapping(
                    company=company,
                    account=account,
                    module=module,
                    organization=org,
                    created_at=now,
                    created_by=user,
                )
            )
            history.append(
                _change(company, account, module, org, MappingChangeAction.ADDED, user, now)
            )
    if removing:
        module_of = {m.pk: m for m in modules.values()}
        orgs_by_pk = {org.pk: org for org in orgs.values()}
        Mapping.objects.filter(organization_id__in=list(removing)).delete()
        for pk, account_id in removing.items():
            org = orgs_by_pk[pk]
            history.append(
                _change(
                    company,
                    accounts[account_id],
                    module_of[org.module_id],
                    org,
                    MappingChangeAction.REMOVED,
                    user,
                    now,
                )
            )
    Mapping.objects.bulk_create(to_create)
    MappingChange.objects.bulk_create(history)


def _current_mappings(organization_ids: list[int]) -> dict[int, Mapping]:
    """The mappings of these (locked) organizations, by organization id."""
    return {
        m.organization_id: m
        for m in Mapping.objects.filter(organization_id__in=organization_ids).select_related(
            "account"
        )
    }


def _change(company, account, module, org, action, user, now) -> MappingChange:
    return MappingChange(
        company=company,
        account=account,
        module_code=module.code,
        organization_external_id=org.external_id,
        organization_name=org.name[:300],
        action=action,
        user=user,
        changed_at=now,
    )


def _conflict_after_race(company: Company, changes: list[CellChange]) -> Conflict:
    for change in changes:
        if not change.add:
            continue
        taken = (
            Mapping.objects.filter(
                company=company,
                module__code=change.module,
                organization__external_id__in=change.add,
            )
            .exclude(account_id=change.account_id)
            .select_related("account", "organization")
            .first()
        )
        if taken is not None:
            return Conflict(
                f"Organization “{taken.organization.name}” ({taken.organization.external_id}) "
                f"is already mapped to account “{taken.account.name}”.",
                field="add",
                code="already_mapped",
            )
    return Conflict(
        "Someone else changed these mappings at the same time; nothing was "
        "saved. Reload and try again.",
        code="concurrent_change",
    )


def replace_account_mappings(
    *, account: Account, user: User | None, mappings: dict[str, list[str]]
) -> None:
    """Make the account's organizations in each module named exactly those listed; other
    modules are untouched."""
    for module_code in mappings:
        if not module_code or "\x00" in module_code:
            raise InvalidInput("Name each module by its code.", field="body")
    current: dict[str, set[str]] = {}
    for module_code, ext_id in Mapping.objects.filter(
        account=account, module__code__in=list(mappings)
    ).values_list("module__code", "organization__external_id"):
        current.setdefault(module_code, set()).add(ext_id)
    changes = []
    for module_code, ext_ids in mappings.items():
        if len(set(ext_ids)) != len(ext_ids):
            raise InvalidInput("An organization is named twice.", field=module_code)
        have = current.get(module_code, set())
        changes.append(
            CellChange(
                account_id=account.pk,
                module=module_code,
                add=[e for e in ext_ids if e not in have],
                remove=sorted(have - set(ext_ids)),
            )
        )
    apply_changes(
        company=account.company,
        user=user,
        changes=changes,
        where=lambda i, _name: changes[i].module,
    )


def _check_columns(company: Company | None, modules: list[str]) -> list[str]:
    """Module columns as stored: at most three, each once, each a module of the company."""
    if len(modules) > MAX_COLUMNS:
        raise InvalidInput(f"Choose at most {MAX_COLUMNS} columns.", field="modules")
    if len(set(modules)) != len(modules):
        raise InvalidInput("A module is chosen twice.", field="modules")
    known: set[str] = set()  # a user of no company knows no module
    if company is not None:
        known = {m.code for m in mapping_modules(company=company)}
    for code in modules:
        if code not in known:
            raise InvalidInput(f"Unknown module “{code}”.", field="modules")
    return list(modules)


def set_columns(*, user: User, modules: list[str]) -> list[str]:
    """Store the user's module columns for the mapping page: at most three, known ones.
    None chosen means the company's default columns."""
    codes = _check_columns(user.company, modules)
    MappingColumns.objects.update_or_create(user=user, defaults={"module_codes": codes})
    return codes


def set_default_columns(*, company: Company, actor: User, modules: list[str]) -> list[str]:
    """Store the company's default module columns (what a user who chose none sees):
    at most three, known ones; none chosen means the most mapped modules. Only an
    administrator sets them (the caller checks)."""
    codes = _check_columns(company, modules)
    DefaultMappingColumns.objects.update_or_create(
        company=company,
        defaults={"module_codes": codes, "updated_at": timezone.now(), "updated_by": actor},
    )
    return codes
