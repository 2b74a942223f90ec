from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "icb.events"
    label = "events"
    verbose_name = "Events (the outbox)"
