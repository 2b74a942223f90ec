from django.urls import path

from . import service_views, views

app_name = "contracts"
urlpatterns = [
    path("finance/contracts/", views.contract_list, name="list"),
    path("finance/contracts/new/", views.contract_create, name="create"),
    path("finance/contracts/<int:contract_id>/", views.contract_detail, name="detail"),
    path(
        "finance/contracts/<int:contract_id>/services/new/",
        views.service_create,
        name="service_create",
    ),
    path(
        "finance/contracts/<int:contract_id>/services/<int:service_id>/",
        service_views.service_detail,
        name="service_detail",
    ),
    path(
        "finance/contracts/<int:contract_id>/services/<int:service_id>/delete/",
        service_views.service_delete,
        name="service_delete",
    ),
    path(
        "finance/contracts/<int:contract_id>/services/<int:service_id>/end/",
        service_views.service_end,
        name="service_end",
    ),
]
