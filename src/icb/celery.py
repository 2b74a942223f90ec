"""The Celery application: broker from ICB_BROKER_URL (SQLite by default, Redis to scale out)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "icb.settings")

app = Celery("icb")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.beat_schedule = {}
app.autodiscover_tasks()
