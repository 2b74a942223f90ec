from django.apps import AppConfig


class InvoicingConfig(AppConfig):
    name = "icb.invoicing"
    label = "invoicing"
    verbose_name = "Invoicing"
