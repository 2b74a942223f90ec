from django.apps import AppConfig


class ContractsConfig(AppConfig):
    name = "icb.contracts"
    label = "contracts"
    verbose_name = "Contracts"
