from django.urls import path

from . import views

app_name = "billing_sync"
urlpatterns = [
    path("finance/sync-history/", views.run_list, name="runs"),
]
