from django.urls import path

from . import preview_views, views

app_name = "review"
urlpatterns = [
    path("finance/billing-review/", views.review_page, name="page"),
    path("finance/billing-review/bulk/", views.bulk, name="bulk"),
    path("finance/billing-review/preview/", preview_views.preview, name="preview"),
    path(
        "finance/billing-review/preview/company/",
        preview_views.start_company,
        name="start_company_preview",
    ),
    path(
        "finance/billing-review/preview/<int:preview_id>/",
        preview_views.company_preview,
        name="company_preview",
    ),
    *(
        path(
            f"finance/billing-review/<int:held_id>/{action}/",
            views.decide,
            {"action": action},
            name=action,
        )
        for action in ("approve", "dismiss", "adjust")
    ),
    path("admin/my-company/billing-review/", views.policy_page, name="policy"),
]
