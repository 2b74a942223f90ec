from django.urls import path

from . import views

app_name = "contracts"
urlpatterns = [
    path("finance/contracts/", views.contract_list, name="list"),
]
