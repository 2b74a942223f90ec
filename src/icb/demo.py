"""Realistic demo data for a new company: the accounts, contracts and services an MSP has.
Idempotent: a company that already has accounts is left alone."""

import datetime
from decimal import Decimal

from django.db import transaction

DEMO_ACCOUNTS = [
    ("Harbor Dental Group", "HARBOR", "Boston", "MA"),
    ("Pinecrest Logistics LLC", "PINECREST", "Hartford", "CT"),
    ("Summit Ridge Accounting", "SUMMIT", "Albany", "NY"),
    ("Bluewater Legal Partners", "BLUEWATER", "Providence", "RI"),
    ("Maple Street Veterinary", "MAPLEVET", "Burlington", "VT"),
    ("Northgate Manufacturing", "NORTHGATE", "Worcester", "MA"),
    ("Cedar Valley School District", "CEDARVALLEY", "Nashua", "NH"),
    ("Lighthouse Insurance Agency", "LIGHTHOUSE", "Portland", "ME"),
]

DEMO_SERVICES = [
    ("Managed Workstations", "45.00", "0"),
    ("Managed Servers", "120.00", "0"),
    ("Backup & Disaster Recovery", "35.00", "0"),
    ("Security Awareness Training", "3.50", "0"),
]


@transaction.atomic
def create_demo_data(*, company, actor) -> bool:
    from icb.contracts.services import contract_create, service_create
    from icb.crm.models import Account
    from icb.crm.services import account_create

    if Account.objects.filter(company=company).exists():
        return False
    for index, (name, code, city, region) in enumerate(DEMO_ACCOUNTS):
        account = account_create(
            company=company,
            actor=actor,
            name=name,
            code=code,
            city=city,
            region=region,
            country="United States",
            is_active=index != len(DEMO_ACCOUNTS) - 1,
            email=f"billing@{code.lower()}.example",
        )
        contract = contract_create(
            company=company,
            actor=actor,
            account_id=account.id,
            name=f"{name} — Managed Services",
            start_date=datetime.date(2026, 1, 1),
            billing_frequency="monthly",
            currency=company.currency,
        )
        for service_index, (service_name, price, units) in enumerate(DEMO_SERVICES):
            if (index + service_index) % 4 == 3:
                continue  # not every customer buys every service
            service_create(
                contract=contract,
                actor=actor,
                name=service_name,
                unit_price=Decimal(price),
                units=Decimal(units) + (index * 3 + service_index * 7) % 40,
            )
    return True
