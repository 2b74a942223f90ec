from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "icb.tenancy"
    label = "tenancy"
    verbose_name = "Companies, users and roles"
