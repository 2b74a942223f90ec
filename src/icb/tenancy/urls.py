from django.urls import path

from . import views

app_name = "tenancy"
urlpatterns = [
    path("admin/security/roles/", views.role_list, name="roles"),
    path("admin/security/users/", views.user_list, name="users"),
    path("profile/", views.profile, name="profile"),
]
