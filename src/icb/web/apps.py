from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "icb.web"
    label = "web"
    verbose_name = "Web pages"
