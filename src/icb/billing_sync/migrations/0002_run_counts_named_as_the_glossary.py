"""A run counts batches (not "groups") and changed services (not "ok" ones)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("billing_sync", "0001_initial"),
    ]

    operations = [
        migrations.RenameField("syncrun", "groups_total", "batches_total"),
        migrations.RenameField("syncrun", "groups_done", "batches_done"),
        migrations.RenameField("syncrun", "services_ok", "services_changed"),
        migrations.AlterField(
            model_name="syncrun",
            name="services_changed",
            field=models.PositiveIntegerField(default=0),
        ),
    ]
