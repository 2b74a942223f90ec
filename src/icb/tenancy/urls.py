from django.urls import path

from . import views

app_name = "tenancy"
urlpatterns = [
    path("admin/security/roles/", views.role_list, name="roles"),
    path("admin/security/roles/new/", views.role_edit, name="role_create"),
    path("admin/security/roles/<int:role_id>/", views.role_edit, name="role_edit"),
    path("admin/security/users/", views.user_list, name="users"),
    path("admin/security/users/<int:user_id>/", views.user_edit, name="user_edit"),
    path("profile/", views.profile, name="profile"),
]
