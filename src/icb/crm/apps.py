from django.apps import AppConfig


class CrmConfig(AppConfig):
    name = "icb.crm"
    label = "crm"
    verbose_name = "CRM"
