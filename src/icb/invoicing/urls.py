from django.urls import path

from . import views

app_name = "invoicing"
urlpatterns = [
    path("admin/company/billing/", views.billing_settings, name="settings"),
]
