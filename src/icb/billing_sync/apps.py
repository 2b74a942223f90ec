from django.apps import AppConfig


class BillingSyncConfig(AppConfig):
    name = "icb.billing_sync"
    label = "billing_sync"
    verbose_name = "Integrated Customer Billing sync"
