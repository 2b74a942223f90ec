"""Mapping suggestions: the search (a background task: every unmapped organization
against the company's active accounts, matching.py) and accepting them. A suggestion is
never applied without a person: accepting one maps through services.apply_changes, with
the same rules and the same record as the mapping page."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from icb.common.errors import InvalidInput
from icb.crm.models import Account
from icb.hub.models import Module, Organization, OrganizationStatus
from icb.tenancy.models import Company, User

from .matching import DEFAULT_CONFIDENCE, MappedName, Matcher
from .models import Mapping, MappingSuggestion
from .services import CellChange, apply_changes

PROGRESS_EVERY = 5000
STORE_BATCH = 5000
ACCEPT_CHUNK = 500  # organizations per transaction when accepting many
MAX_PICKS = 1000

Progress = Callable[[int, int], None]


def _unmapped(company: Company):
    """The organizations a suggestion is searched for: present (in a present module),
    active, unmapped."""
    return Organization.objects.for_company(company).filter(
        removed_at__isnull=True,
        module__removed_at__isnull=True,
        status=OrganizationStatus.ACTIVE,
        mapping__isnull=True,
    )


def find_suggestions(*, company: Company, progress: Progress | None = None) -> int:
    """Search an account for every unmapped organization and store what was found,
    replacing the previous suggestions. Answers how many were stored."""
    modules = dict(Module.objects.for_company(company).values_list("pk", "name"))
    accounts = Account.objects.for_company(company).filter(is_active=True)
    mapped_rows = list(
        Mapping.objects.for_company(company).values_list(
            "organization__name",
            "account_id",
            "module_id",
            "organization__external_id",
            "account__name",
        )
    )
    matcher = Matcher(
        accounts.values_list("pk", "name", "code").iterator(chunk_size=5000),
        [
            MappedName(name, account, modules.get(module, ""))
            for name, account, module, *_ in mapped_rows
        ],
    )
    parents = {
        (module, ext_id): (account, account_name)
        for _name, account, module, ext_id, account_name in mapped_rows
    }
    orgs = list(_unmapped(company).values_list("pk", "module_id", "name", "parent_external_id"))
    found: list[MappingSuggestion] = []
    now = timezone.now()
    for done, (org_id, module_id, name, parent_id) in enumerate(orgs, 1):
        parent = parents.get((module_id, parent_id)) if parent_id else None
        match = matcher.match(name, parent=parent, module_name=modules.get(module_id, ""))
        if match is not None:
            found.append(
                MappingSuggestion(
                    company=company,
                    module_id=module_id,
                    organization_id=org_id,
                    account_id=match.account_id,
                    confidence=Decimal(str(match.confidence)).quantize(Decimal("0.001")),
                    reason=match.reason[:300],
                    created_at=now,
                )
            )
        if progress is not None and done % PROGRESS_EVERY == 0:
            progress(done, len(orgs))
    with transaction.atomic():
        MappingSuggestion.objects.for_company(company).delete()
        MappingSuggestion.objects.bulk_create(found, batch_size=STORE_BATCH)
    if progress is not None:
        progress(len(orgs), len(orgs))
    return len(found)


def suggestion_list(
    *, company: Company, module: str | None = None, min_confidence: Decimal | None = None
):
    """The stored suggestions of organizations still unmapped, most confident first."""
    rows = MappingSuggestion.objects.for_company(company).filter(
        organization__mapping__isnull=True, organization__removed_at__isnull=True
    )
    if module:
        rows = rows.filter(module__code=module)
    if min_confidence is not None:
        rows = rows.filter(confidence__gte=min_confidence)
    return rows.select_related("module", "organization", "account").order_by(
        "-confidence", "organization__name", "pk"
    )


@dataclass(frozen=True)
class Pick:
    """A suggestion a person accepts, named as it was shown: the module's code, the
    organization's hub id and the suggested account."""

    module: str
    organization_id: str
    account_id: int


def check_confidence(value: Decimal | None, field: str = "min_confidence") -> Decimal:
    if value is None:
        return Decimal(str(DEFAULT_CONFIDENCE))
    if not value.is_finite() or not Decimal(0) <= value <= Decimal(1):
        raise InvalidInput("The confidence is a number from 0 to 1.", field=field)
    return value


def accept_suggestions(
    *,
    company: Company,
    user: User | None,
    picks: list[Pick] | None = None,
    min_confidence: Decimal | None = None,
    module: str | None = None,
) -> int:
    """Map the picked organizations to their suggested accounts, or every suggestion of
    at least `min_confidence` (of one module, if named). A pick must be a stored
    suggestion of this company for that account (another company's ids, or an account
    the search did not suggest, are refused). Accepting again is a no-op. Answers how many
    organizations are now mapped as suggested."""
    if picks is not None:
        return _accept_picks(company, user, picks)
    threshold = check_confidence(min_confidence)
    rows = suggestion_list(company=company, module=module, min_confidence=threshold).filter(
        organization__status=OrganizationStatus.ACTIVE
    )
    chosen = list(rows.values_list("module__code", "organization__external_id", "account_id"))
    for start in range(0, len(chosen), ACCEPT_CHUNK):
        _map(company, user, chosen[start : start + ACCEPT_CHUNK])
    return len(chosen)


def _accept_picks(company: Company, user: User | None, picks: list[Pick]) -> int:
    if not picks:
        raise InvalidInput("Choose at least one suggestion.", field="suggestions")
    if len(picks) > MAX_PICKS:
        raise InvalidInput(f"At most {MAX_PICKS} suggestions at once.", field="suggestions")
    stored = {
        (code, ext_id): account
        for code, ext_id, account in MappingSuggestion.objects.for_company(company)
        .filter(organization__external_id__in={p.organization_id for p in picks})
        .values_list("module__code", "organization__external_id", "account_id")
    }
    for i, pick in enumerate(picks):
        if stored.get((pick.module, pick.organization_id)) != pick.account_id:
            raise InvalidInput(
                f"No suggestion maps organization “{pick.organization_id}” of module "
                f"“{pick.module}” to account {pick.account_id}; reload the suggestions.",
                field=f"suggestions.{i}",
            )
    _map(company, user, [(p.module, p.organization_id, p.account_id) for p in picks])
    return len(picks)


def _map(company: Company, user: User | None, chosen: list[tuple[str, str, int]]) -> None:
    cells: dict[tuple[int, str], CellChange] = {}
    for module, ext_id, account_id in chosen:
        cell = cells.setdefault((account_id, module), CellChange(account_id, module))
        cell.add.append(ext_id)
    if cells:
        apply_changes(company=company, user=user, changes=list(cells.values()))
