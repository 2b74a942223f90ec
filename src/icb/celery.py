"""The Celery application: its configuration, the beat schedule included, is read from
Django's settings (CELERY_*), which read the environment."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "icb.settings")

app = Celery("icb")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
