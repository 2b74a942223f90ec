from django.apps import AppConfig


class MappingConfig(AppConfig):
    name = "icb.mapping"
    label = "mapping"
    verbose_name = "Organization mapping"
