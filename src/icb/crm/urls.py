from django.urls import path

from . import views

app_name = "crm"
urlpatterns = [
    path("admin/crm/accounts/", views.account_list, name="list"),
    path("admin/crm/accounts/new/", views.account_create, name="create"),
    path("admin/crm/accounts/<int:account_id>/", views.account_detail, name="detail"),
]
