from django.urls import path

from . import invoice_views, views

app_name = "invoicing"
urlpatterns = [
    path("admin/company/billing/", views.billing_settings, name="settings"),
    path("finance/invoicing/", invoice_views.run_list, name="runs"),
    path("finance/invoicing/runs/new/", invoice_views.run_create, name="run_create"),
    path(
        "finance/invoicing/runs/<int:invoice_run_id>/", invoice_views.run_detail, name="run_detail"
    ),
    path(
        "finance/invoicing/runs/<int:invoice_run_id>/finalize/",
        invoice_views.run_finalize,
        name="run_finalize",
    ),
    path(
        "finance/invoicing/invoices/<int:invoice_id>/",
        invoice_views.invoice_detail,
        name="invoice_detail",
    ),
    path(
        "finance/invoicing/invoices/<int:invoice_id>/lines/new/",
        invoice_views.line_add,
        name="line_add",
    ),
    path(
        "finance/invoicing/invoices/<int:invoice_id>/lines/<int:line_id>/remove/",
        invoice_views.line_remove,
        name="line_remove",
    ),
    path(
        "finance/invoicing/invoices/<int:invoice_id>/lines/<int:line_id>/quantity/",
        invoice_views.line_quantity,
        name="line_quantity",
    ),
    path(
        "finance/invoicing/invoices/<int:invoice_id>/finalize/",
        invoice_views.invoice_finalize,
        name="invoice_finalize",
    ),
    path(
        "finance/invoicing/invoices/<int:invoice_id>/void/",
        invoice_views.invoice_void,
        name="invoice_void",
    ),
    path(
        "finance/invoicing/invoices/<int:invoice_id>/credit-note/",
        invoice_views.invoice_credit,
        name="invoice_credit",
    ),
]
