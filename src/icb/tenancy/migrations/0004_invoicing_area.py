from django.db import migrations, models

# The built-in roles get the new area as new companies get it: Finance runs and finalizes
# invoices, Read-only sees them. Custom roles start without it.
BUILT_IN_LEVELS = {"Finance": "modify", "Read-only": "view"}


def grant_built_in(apps, schema_editor):
    Role = apps.get_model("tenancy", "Role")
    for name, level in BUILT_IN_LEVELS.items():
        Role.objects.filter(built_in=True, name=name).update(invoicing=level)


class Migration(migrations.Migration):
    dependencies = [
        ("tenancy", "0003_company_billing_defaults"),
    ]

    operations = [
        migrations.AddField(
            model_name="role",
            name="invoicing",
            field=models.CharField(
                choices=[("none", "None"), ("view", "View"), ("modify", "Modify")],
                default="none",
                max_length=8,
                verbose_name="Invoicing",
            ),
        ),
        migrations.RunPython(grant_built_in, migrations.RunPython.noop),
    ]
