from django.urls import path

from . import views

app_name = "mapping"
urlpatterns = [
    path("admin/my-company/hub-settings/", views.mapping_page, name="page"),
    path("finance/unmapped-usage/", views.unmapped_page, name="unmapped"),
    path("finance/unmapped-usage/accept/", views.unmapped_accept, name="unmapped_accept"),
    path("finance/unmapped-usage/scan/", views.unmapped_scan, name="unmapped_scan"),
]
