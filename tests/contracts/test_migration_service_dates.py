"""The migration that gives services a start date: an existing service starts on the
day it was added in its company's time zone, never before its contract."""

import datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [
    ("contracts", "0003_unit_change_effective_date"),
    ("tenancy", "0002_billing_review_area"),
    ("crm", "0001_initial"),
    ("hub", "0004_organization_appeared_at"),
]
AFTER = [("contracts", "0004_billing_settings_and_service_dates")]


def test_existing_services_start_on_the_day_they_were_added():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    company = apps.get_model("tenancy", "Company").objects.create(
        name="Acme", time_zone="America/New_York"
    )
    account = apps.get_model("crm", "Account").objects.create(
        company=company, name="Harbor", code="H"
    )
    Contract = apps.get_model("contracts", "Contract")
    Service = apps.get_model("contracts", "Service")
    common = {
        "company": company,
        "account": account,
        "billing_frequency": "monthly",
        "currency": "USD",
    }
    running = Contract.objects.create(
        name="Running", start_date=datetime.date(2026, 1, 1), **common
    )
    later = Contract.objects.create(name="Later", start_date=datetime.date(2026, 12, 1), **common)
    # 03:00 UTC on 2026-11-02 is still 1 November in New York.
    added = datetime.datetime(2026, 11, 2, 3, 0, tzinfo=datetime.UTC)
    for contract in (running, later):
        Service.objects.create(
            company=company, contract=contract, name="Backup", unit_price=3, created_at=added
        )

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)
    apps = executor.loader.project_state(AFTER).apps
    starts = dict(
        apps.get_model("contracts", "Service").objects.values_list("contract__name", "start_date")
    )
    assert starts == {"Running": datetime.date(2026, 11, 1), "Later": datetime.date(2026, 12, 1)}

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
