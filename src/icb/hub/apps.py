from django.apps import AppConfig


class HubConfig(AppConfig):
    name = "icb.hub"
    label = "hub"
    verbose_name = "Integration hub"
