from django.urls import path

from . import views

app_name = "crm"
urlpatterns = [
    path("admin/crm/accounts/", views.account_list, name="list"),
]
