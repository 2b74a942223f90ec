"""The Celery application: broker from ICB_BROKER_URL (SQLite by default, Redis to scale out)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "icb.settings")

app = Celery("icb")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.beat_schedule = {
    "refresh-hub-directories": {
        "task": "hub.refresh_all_directories",
        "schedule": 60.0 * int(os.environ.get("ICB_HUB_DIRECTORY_REFRESH_MINUTES", "60")),
        "options": {"expires": 300},
    },
    # Claims due ICB services (nightly at each company's midnight, retries, catch-up)
    # and enqueues one task per (company, module) batch.
    "billing_sync.dispatch": {
        "task": "billing_sync.dispatch",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
}
app.autodiscover_tasks()
