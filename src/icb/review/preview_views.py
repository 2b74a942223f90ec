"""The sync preview of a service or an account as a page: what a sync would change now,
written nowhere. A GET (it changes nothing); the Preview buttons of the service and
account pages fetch its table and show it in place (icb.js, data-inline-preview), and
without script it is a page of its own."""

from django.http import Http404
from django.shortcuts import render

from icb.billing_sync.policy import describe
from icb.billing_sync.preview import Decision
from icb.billing_sync.services import preview_now
from icb.common.errors import ServiceError
from icb.contracts.selectors import valid_id
from icb.tenancy.models import Area
from icb.tenancy.permissions import area_required

from . import selectors

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


@area_required(Area.BILLING_REVIEW)
def preview(request):
    ids = {key: request.GET.get(key) for key in ("service_id", "account_id")}
    given = {key: valid_id(value) for key, value in ids.items() if value is not None}
    if None in given.values():
        raise Http404("No such service or account.")
    rows: list[dict] = []
    found, error, scope = [], "", None
    if len(given) != 1:
        error = "Open a service or an account and choose Preview there."
    else:
        scope = selectors.preview_scope(company=request.company, **given)
        try:
            found = preview_now(company=request.company, services=scope.services)
        except ServiceError as exc:
            error = exc.message
    for row in found:
        rows.append(
            {
                **row.as_json(),
                "impact": row.monthly_impact,
                "words": DECISION_WORDS[row.decision],
                "rule_words": describe(row.rule) if row.rule else "",
            }
        )
    inline = request.headers.get("X-Requested-With") == "icb-inline"
    return render(
        request,
        "review/_preview.html" if inline else "review/preview.html",
        {
            "scope": scope,
            "rows": rows,
            "error": error,
            "counts": [
                (decision, count, COUNT_WORDS[decision])
                for decision, count in selectors.preview_counts(rows).items()
                if count
            ],
        },
    )
