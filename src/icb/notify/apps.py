from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "icb.notify"
    label = "notify"
    verbose_name = "Notifications (webhooks and the nightly digest)"
