from django.urls import path

from . import views

app_name = "hub"
urlpatterns = [
    path("admin/integrations/hub/", views.hub_page, name="page"),
    path("admin/integrations/hub/connect/", views.connect, name="connect"),
    path("admin/integrations/hub/callback/", views.callback, name="callback"),
    path("admin/integrations/hub/disconnect/", views.disconnect, name="disconnect"),
    path("admin/integrations/hub/refresh/", views.refresh, name="refresh"),
]
