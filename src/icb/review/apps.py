from django.apps import AppConfig


class ReviewConfig(AppConfig):
    name = "icb.review"
    label = "review"
    verbose_name = "Billing review"
