"""Pages of Billing review: Finance › Billing review (the held changes, their decisions
one by one or in bulk) and Admin › My Company › Billing review policy. Thin: the rules
are in services.py, the reads in selectors.py."""

from decimal import Decimal
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from icb.billing_sync.models import HeldStatus, HoldRule, ReviewMode
from icb.billing_sync.selectors import sync_breakdowns
from icb.common.errors import ServiceError
from icb.common.pagination import paginate
from icb.common.widgets import SearchSelect
from icb.hub.models import Module
from icb.tenancy.models import Area, Level
from icb.tenancy.permissions import allows, area_required

from . import selectors, services
from .filters import HeldFilter

PAGE_SIZE = 50
GROUP_CHOICES = [("", "No grouping"), ("account", "Account"), ("module", "Module")]
ACTION_WORDS = {"approve": "Approved", "dismiss": "Dismissed", "adjust": "Adjusted"}


def _filters(query) -> tuple[HeldFilter, dict, str]:
    filters, errors = HeldFilter.from_query(query)
    group = query.get("group", "")
    return filters, errors, group if group in dict(GROUP_CHOICES) else ""


def _query(filters: HeldFilter, group: str) -> str:
    """The page's query string for a filter (the bulk form and redirects keep it)."""
    values = {k: v for k, v in filters.model_dump(mode="json").items() if v not in (None, "")}
    if values.get("status") == HeldStatus.PENDING:
        del values["status"]
    if group:
        values["group"] = group
    return urlencode(values)


def _account_box(company, account_id: int | None) -> str:
    """The account filter, searched as you type: the page renders only the chosen
    account, however many accounts have held changes."""
    box = SearchSelect(
        search_url=reverse("api:list_held_account_options"),
        item_label="name",
        item_detail="code",
        placeholder="Any account",
    )
    account = (
        selectors.account_options(company=company).filter(pk=account_id).first()
        if account_id
        else None
    )
    label = "" if account is None else account.name + (f" ({account.code})" if account.code else "")
    box.label_for = lambda pk: label
    return box.render("account_id", account_id, attrs={"id": "held-account"})


def _money(sums: dict[str, Decimal]) -> list[tuple[str, Decimal]]:
    return sorted(sums.items())


@area_required(Area.BILLING_REVIEW)
def review_page(request):
    filters, filter_errors, group = _filters(request.GET)
    listed = selectors.held_list(company=request.company, filters=filters, group=group)
    page = paginate(listed.rows, request.GET.get("page"), PAGE_SIZE)
    rows = selectors.held_rows(company=request.company, ids=[row[0] for row in page.items])
    impacts = {row[0]: row[1] for row in page.items}
    groups_of = {row[0]: row[3] for row in page.items}
    for held in rows:
        held.impact = impacts[held.pk]  # type: ignore[attr-defined]
        held.group = groups_of[held.pk]  # type: ignore[attr-defined]
    return render(
        request,
        "review/page.html",
        {
            "page": page,
            "rows": rows,
            "listed": listed,
            "increases": _money(listed.increases),
            "decreases": _money(listed.decreases),
            "net": _money(listed.impact),
            "breakdowns": sync_breakdowns(company=request.company, changes=rows),
            "strips": selectors.units_strips(
                company=request.company, service_ids=[h.service_id for h in rows]
            ),
            "filters": filters,
            "filter_errors": filter_errors,
            "group": group,
            "query": _query(filters, group),
            "choices": selectors.filter_choices(company=request.company),
            "account_box": _account_box(request.company, filters.account_id),
            "statuses": HeldStatus.choices,
            "rules": HoldRule.choices,
            "groups": GROUP_CHOICES,
            "can_modify": allows(request.user, Area.BILLING_REVIEW, Level.MODIFY),
            "pending": filters.status == HeldStatus.PENDING,
        },
    )


def _back(request):
    back = request.POST.get("back", "")
    url = reverse("review:page")
    # Only a query string of this page: never a redirect elsewhere.
    return redirect(f"{url}?{back}" if back and "/" not in back and "\\" not in back else url)


@area_required(Area.BILLING_REVIEW)
@require_POST
def decide(request, held_id, action):
    held = selectors.held_get(company=request.company, held_id=held_id)
    post = request.POST
    try:
        if action == "approve":
            services.approve(
                held=held, actor=request.user, effective_date=post.get("effective_date") or None
            )
        elif action == "dismiss":
            services.dismiss(held=held, actor=request.user, reason=post.get("reason", ""))
        elif action == "adjust":
            services.adjust(
                held=held,
                actor=request.user,
                units=post.get("units", ""),
                note=post.get("note", ""),
                effective_date=post.get("effective_date") or None,
            )
        else:  # pragma: no cover - the URLs name only the three
            raise PermissionDenied("Unknown action.")
    except ServiceError as exc:
        details = "; ".join(m for ms in exc.field_errors.values() for m in ms)
        messages.error(request, f"{held.service.name}: {details}")
        return _back(request)
    messages.success(
        request,
        f"{ACTION_WORDS[action]}: {held.service.name} "
        f"({held.current_units} → {held.proposed_units} proposed).",
    )
    return _back(request)


@area_required(Area.BILLING_REVIEW)
@require_POST
def bulk(request):
    filters, errors, group = _filters(request.POST)
    if errors or filters.status != HeldStatus.PENDING:
        messages.error(request, "Only a valid filter of pending held changes can be decided.")
        return _back(request)
    ids = selectors.held_list(company=request.company, filters=filters).ids
    try:
        result = services.decide_many(
            held_changes=selectors.held_rows(company=request.company, ids=ids),
            actor=request.user,
            action=request.POST.get("action", ""),
            reason=request.POST.get("reason", ""),
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
        return _back(request)
    word = ACTION_WORDS.get(request.POST.get("action", ""), "Decided")
    text = f"{word} {len(result.decided)} held change(s)."
    if result.skipped:
        first = next(iter(result.skipped.values()))
        text += f" {len(result.skipped)} skipped (decided meanwhile): {first}"
    (messages.warning if result.skipped else messages.success)(request, text)
    return _back(request)


# --- the policy ----------------------------------------------------------------------


def _rules_from_post(post, prefix: str) -> dict:
    def number(name):
        value = post.get(prefix + name, "").strip()
        if value == "":
            return None
        return int(value) if value.isascii() and value.isdigit() else value

    return {
        "mode": post.get(prefix + "mode", ""),
        "max_units": number("max_units"),
        "max_percent": number("max_percent"),
        "hold_drop_to_zero": post.get(prefix + "hold_drop_to_zero") == "on",
        "hold_drop_percent": number("hold_drop_percent"),
        "hold_first_sync": post.get(prefix + "hold_first_sync") == "on",
    }


@require_http_methods(["GET", "HEAD", "POST"])
def policy_page(request):
    if not request.user.is_authenticated:
        from django.contrib.auth.views import redirect_to_login

        return redirect_to_login(request.get_full_path())
    is_admin = request.user.is_administrator
    if not (is_admin or allows(request.user, Area.BILLING_REVIEW, Level.VIEW)):
        raise PermissionDenied("Your role does not allow this (Billing review).")
    modules = list(Module.objects.for_company(request.company).filter(removed_at__isnull=True))
    policy = selectors.policy_of(request.company)
    errors: dict = {}
    if request.method == "POST":
        if not is_admin:
            raise PermissionDenied("Only administrators may change the review policy.")
        data = _rules_from_post(request.POST, "")
        data["modules"] = {
            m.code: _rules_from_post(request.POST, f"{m.code}.")
            for m in modules
            if request.POST.get(f"{m.code}.override") == "on"
        }
        try:
            services.policy_update(company=request.company, actor=request.user, data=data)
        except ServiceError as exc:
            errors = exc.field_errors
            policy = data
        else:
            messages.success(request, "The review policy was saved.")
            return redirect("review:policy")
    sections = [{"prefix": "", "label": "Every module", "rules": policy, "override": True}]
    for m in modules:
        own = policy.get("modules", {}).get(m.code)
        sections.append(
            {
                "prefix": f"{m.code}.",
                "label": m.name,
                "code": m.code,
                "rules": own or {k: v for k, v in policy.items() if k != "modules"},
                "override": own is not None,
            }
        )
    return render(
        request,
        "review/policy.html",
        {
            "sections": sections,
            "modes": ReviewMode.choices,
            "errors": errors,
            "can_modify": is_admin,
            "changes": selectors.policy_changes(company=request.company),
        },
    )
