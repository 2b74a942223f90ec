from django.urls import path

from . import views

app_name = "billing_sync"
urlpatterns = [
    path("finance/sync-history/", views.run_list, name="runs"),
    path("finance/sync-history/<int:run_id>/", views.run_detail, name="run_detail"),
    path(
        "finance/contracts/<int:contract_id>/services/<int:service_id>/icb/sync/",
        views.service_sync,
        name="service_sync",
    ),
    path(
        "finance/contracts/<int:contract_id>/services/<int:service_id>/icb/stop/",
        views.service_stop,
        name="service_stop",
    ),
]
