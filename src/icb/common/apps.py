from django.apps import AppConfig


class CommonConfig(AppConfig):
    """The shared kernel; an app only so that Django finds its templates and tags."""

    name = "icb.common"
    label = "common"
    verbose_name = "Shared kernel"
