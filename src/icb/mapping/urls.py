from django.urls import path

from . import views

app_name = "mapping"
urlpatterns = [
    path("admin/my-company/hub-settings/", views.mapping_page, name="page"),
]
