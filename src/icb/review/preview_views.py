"""The sync preview as pages: what a sync would change now, written nowhere. A service's
or an account's is a GET (it changes nothing); the Preview buttons of the service and
account pages fetch its table and show it in place (icb.js, data-inline-preview), and
without script it is a page of its own. The whole company's runs in the background:
its page shows the progress (it reloads itself meanwhile), then the rows."""

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from icb.billing_sync.policy import describe
from icb.billing_sync.preview import Decision
from icb.billing_sync.services import preview_now, start_company_preview
from icb.billing_sync.tasks import preview_company_task
from icb.common.errors import ServiceError
from icb.common.pagination import paginate
from icb.contracts.selectors import valid_id
from icb.tenancy.models import Area, Level
from icb.tenancy.permissions import area_required, require

from . import selectors

PAGE_SIZE = 100
DECISION_WORDS = {
    Decision.APPLIED: "Would be applied",
    Decision.HELD: "Would be held",
    Decision.KEPT: "Kept (dismissed number)",
    Decision.UNCHANGED: "Unchanged",
    Decision.FAILED: "Would fail",
    Decision.INCOMPLETE: "Mapping incomplete",
}

COUNT_WORDS = {
    Decision.APPLIED: "applied",
    Decision.HELD: "held",
    Decision.KEPT: "kept",
    Decision.UNCHANGED: "unchanged",
    Decision.FAILED: "failed",
    Decision.INCOMPLETE: "mapping incomplete",
}


def _shown(row: dict) -> dict:
    """A preview row (PreviewRow.as_json) with what the page shows of it."""
    return {
        **row,
        "impact": Decimal(row["monthly_impact"]),
        "words": DECISION_WORDS[row["decision"]],
        "rule_words": describe(row["rule"]) if row["rule"] else "",
    }


def _counts(rows: list[dict]) -> list[tuple[str, int, str]]:
    counts = selectors.preview_counts(rows)
    return [(decision, n, COUNT_WORDS[decision]) for decision, n in counts.items() if n]


@area_required(Area.BILLING_REVIEW)
def preview(request):
    ids = {key: request.GET.get(key) for key in ("service_id", "account_id")}
    given = {key: valid_id(value) for key, value in ids.items() if value is not None}
    if None in given.values():
        raise Http404("No such service or account.")
    found, error, scope = [], "", None
    if len(given) != 1:
        error = "Open a service or an account and choose Preview there."
    else:
        scope = selectors.preview_scope(company=request.company, **given)
        try:
            found = preview_now(company=request.company, services=scope.services)
        except ServiceError as exc:
            error = exc.message
    rows = [_shown(row.as_json()) for row in found]
    inline = request.headers.get("X-Requested-With") == "icb-inline"
    return render(
        request,
        "review/_preview.html" if inline else "review/preview.html",
        {
            "scope": scope,
            "rows": rows,
            "error": error,
            "counts": _counts(rows),
        },
    )


@login_required
@require_POST
def start_company(request):
    """Preview the whole company: a background task; its page shows the progress. Billing
    review view is enough (it writes nothing but the preview itself)."""
    require(request.user, Area.BILLING_REVIEW, Level.VIEW)
    try:
        preview = start_company_preview(company=request.company, actor=request.user)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("review:page")
    transaction.on_commit(lambda: preview_company_task.delay(preview.pk))
    return redirect("review:company_preview", preview_id=preview.pk)


SORTS = {"impact": "Monthly impact", "service": "Service"}
FILTERS = {
    "": "Every service",
    Decision.APPLIED: "Would be applied",
    Decision.HELD: "Would be held",
}


@area_required(Area.BILLING_REVIEW)
def company_preview(request, preview_id):
    preview = selectors.sync_preview_get(company=request.company, preview_id=preview_id)
    decision = request.GET.get("decision", "")
    decision = decision if decision in Decision.ALL else ""
    sort = request.GET.get("sort", "impact")
    sort = sort if sort in SORTS else "impact"
    page = paginate(
        selectors.sync_preview_rows(preview, decision=decision, sort=sort),
        request.GET.get("page"),
        PAGE_SIZE,
    )
    page.items = [_shown(row) for row in page.items]
    percent = 100 * preview.services_done // preview.services_total if preview.services_total else 0
    return render(
        request,
        "review/company_preview.html",
        {
            "preview": preview,
            "page": page,
            "rows": page.items,
            "counts": _counts(preview.rows),
            "percent": percent,
            "decision": decision,
            "sort": sort,
            "sorts": SORTS,
            "filters": FILTERS,
        },
    )
