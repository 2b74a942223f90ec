from django.urls import path

from . import views

app_name = "notify"
urlpatterns = [
    path("admin/integrations/webhooks/", views.webhook_list, name="webhooks"),
    path(
        "admin/integrations/webhooks/<int:webhook_id>/", views.webhook_detail, name="webhook_detail"
    ),
    path("profile/digest/", views.digest_choice, name="digest_choice"),
]
