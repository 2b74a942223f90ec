from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "icb.web"
    label = "web"
    verbose_name = "Web pages"

    def ready(self) -> None:
        from .startup import prepare_data_dir

        prepare_data_dir()
