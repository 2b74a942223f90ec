"""The unit history's effective date (the day new units count from, in the company's
time zone; existing rows: the day they were recorded there), a note, and the sources of
a held change's decision."""

import zoneinfo

from django.db import migrations, models
from django.db.models.functions import TruncDate


def fill_effective_dates(apps, schema_editor):
    Company = apps.get_model("tenancy", "Company")
    ServiceUnitChange = apps.get_model("contracts", "ServiceUnitChange")
    for company_id, time_zone in Company.objects.values_list("id", "time_zone"):
        ServiceUnitChange.objects.filter(company_id=company_id).update(
            effective_date=TruncDate("changed_at", tzinfo=zoneinfo.ZoneInfo(time_zone))
        )


class Migration(migrations.Migration):
    dependencies = [
        ("contracts", "0002_unit_change_sync_run_id_index"),
        ("tenancy", "0002_billing_review_area"),
    ]

    operations = [
        migrations.AddField(
            model_name="serviceunitchange",
            name="effective_date",
            field=models.DateField(null=True),
        ),
        migrations.RunPython(fill_effective_dates, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="serviceunitchange",
            name="effective_date",
            field=models.DateField(),
        ),
        migrations.AddField(
            model_name="serviceunitchange",
            name="note",
            field=models.CharField(blank=True, db_default="", max_length=500),
        ),
        migrations.AlterField(
            model_name="serviceunitchange",
            name="source",
            field=models.CharField(
                choices=[
                    ("created", "Service created"),
                    ("user", "Changed by a user"),
                    ("sync", "Integrated Customer Billing sync"),
                    ("approved", "Held change approved"),
                    ("adjusted", "Held change adjusted"),
                ],
                max_length=10,
            ),
        ),
    ]
