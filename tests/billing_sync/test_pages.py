"""The Integrated Customer Billing tab, the sync and stop buttons, the sync history."""

import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from icb.billing_sync.services import NOT_MAPPED_MESSAGE, enable_icb
from icb.contracts.models import Service
from tests.factories import make_service, make_user

pytestmark = pytest.mark.django_db

# Where the hub is needed but not connected: what is missing, and the link to set it up.
REQUIRES_SETUP = (
    "This requires a connection to Integration Hub. "
    '<a href="/admin/integrations/hub/">Set up the connection</a>'
)
NOT_MAPPED = (
    "Module organization is not mapped to an account. Please complete ITC Mapping "
    "found in CRM Account, in order to utilize automated ITC billing."
)


def html_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def service_url(service):
    return reverse("contracts:service_detail", args=[service.contract_id, service.pk])


def test_message_is_exactly_the_seeds():
    assert NOT_MAPPED_MESSAGE == NOT_MAPPED


def test_without_hub_the_tab_asks_for_setup(admin_client, contract):
    html = html_of(admin_client.get(reverse("contracts:detail", args=[contract.pk])))
    assert REQUIRES_SETUP in html
    assert 'name="icb_module"' not in html


def test_add_service_with_module_without_mapping(admin_client, contract, connected, account):
    html = html_of(admin_client.get(reverse("contracts:detail", args=[contract.pk])))
    assert 'name="icb_module"' in html and 'name="icb_billing_type"' in html
    assert re.search(r'<option value="workstations" data-module="rmm"', html)
    assert f'aria-label="{NOT_MAPPED}"' in html
    link = f"/admin/crm/accounts/{account.pk}/?tab=icb#itc-integrations-mapping"
    assert f'href="{link}">Open the Integration Mapping</a>' in html

    response = admin_client.post(
        reverse("contracts:service_create", args=[contract.pk]),
        {
            "name": "Workstations",
            "unit_price": "45",
            "units": "1",
            "icb_module": "rmm",
            "icb_billing_type": "workstations",
        },
    )
    assert response.status_code == 302
    service = Service.objects.get(name="Workstations")
    assert service.billing_mode == "icb" and service.icb_billing_type.code == "workstations"

    html = html_of(admin_client.get(service_url(service)))
    assert re.search(
        r"<dt>Last Sync</dt>\s*<dd[^>]*><span class=\"badge warn\">Mapping "
        r"Settings Incomplete</span>",
        html,
    )
    assert "<dt>Next Sync</dt>" in html
    assert (
        'aria-label="Sync now"' in html and 'aria-label="Stop Integrated Customer Billing"' in html
    )
    assert re.search(r'<input type="text" name="units"[^>]*disabled', html)
    # The triangle shows for the chosen, unmapped module (not hidden).
    assert re.search(r'<span class="icb-warning"[^>]*aria-label="Module organization[^"]*">', html)

    contract_html = html_of(
        admin_client.get(reverse("contracts:detail", args=[contract.pk]) + "?tab=billing")
    )
    assert "Mapping Settings Incomplete" in contract_html


def test_add_service_with_a_bad_billing_type_saves_nothing(admin_client, contract, connected):
    response = admin_client.post(
        reverse("contracts:service_create", args=[contract.pk]),
        {
            "name": "Workstations",
            "unit_price": "45",
            "units": "1",
            "icb_module": "rmm",
            "icb_billing_type": "protected_devices",
        },
    )
    html = html_of(response)
    assert "Unknown billing type" in html
    assert not Service.objects.filter(name="Workstations").exists()


def test_the_link_is_for_administrators_only(contract, connected, company):
    client = Client()
    client.force_login(make_user(company, "finance@acme.test", role="Read-only"))
    html = html_of(client.get(reverse("contracts:detail", args=[contract.pk])))
    assert "Open the Integration Mapping" not in html


def test_sync_and_stop_buttons(admin_client, contract, connected, orgs, account, admin_user):
    service = enable_icb(
        service=make_service(contract, "WS", units="2"),
        actor=admin_user,
        module="rmm",
        billing_type="workstations",
    )
    orgs.mapped(account, workstations=9)
    html = html_of(admin_client.get(service_url(service)))
    assert "Mapping Settings Incomplete" not in html and "Not synced yet" in html
    assert "hidden>" in html.split('class="icb-warning"')[1][:400]  # mapped: no triangle

    sync = reverse("billing_sync:service_sync", args=[contract.pk, service.pk])
    html = html_of(admin_client.post(sync, follow=True))
    assert "Synced: 9.00 units." in html
    service.refresh_from_db()
    assert service.units == Decimal("9.00")
    last = service.last_sync_at.astimezone(account.company.zone).strftime("%Y-%m-%d %H:%M")
    assert last in html

    # A page save of an ICB service never touches its units.
    admin_client.post(
        service_url(service),
        {
            "name": "WS2",
            "unit_price": "1",
            "units": "55",
            "icb_module": "rmm",
            "icb_billing_type": "workstations",
        },
    )
    service.refresh_from_db()
    assert (service.name, service.units, service.billing_mode) == ("WS2", 9, "icb")

    stop = reverse("billing_sync:service_stop", args=[contract.pk, service.pk])
    html = html_of(admin_client.post(stop, follow=True))
    assert "billed manually again" in html
    service.refresh_from_db()
    assert (service.billing_mode, service.units) == ("manual", 9)
    assert not re.search(r'<input type="text" name="units"[^>]*disabled', html)


def test_sync_history_pages(
    admin_client, contract, connected, orgs, account, admin_user, other_company
):
    from icb.billing_sync.models import SyncRun
    from icb.billing_sync.services import sync_now

    service = enable_icb(
        service=make_service(contract, "WS"),
        actor=admin_user,
        module="rmm",
        billing_type="workstations",
    )
    orgs.mapped(account, workstations=3)
    sync_now(service=service, actor=admin_user)
    run = SyncRun.objects.get()
    html = html_of(admin_client.get(reverse("billing_sync:runs")))
    assert f'href="{reverse("billing_sync:run_detail", args=[run.pk])}"' in html
    assert "Manual by admin@acme.test" in html
    html = html_of(admin_client.get(reverse("billing_sync:run_detail", args=[run.pk])))
    assert "WS" in html and "Units changed" in html and "3.00" in html
    theirs = SyncRun.objects.create(company=other_company, trigger="nightly")
    assert admin_client.get(reverse("billing_sync:run_detail", args=[theirs.pk])).status_code == 404


def test_a_nightly_run_lists_what_needs_a_look_and_counts_the_unchanged(
    admin_client, contract, connected, orgs, account, admin_user
):
    from django.utils import timezone

    from icb.billing_sync.dispatch import dispatch_due
    from icb.billing_sync.models import SyncRun
    from tests.billing_sync.helpers import run_group_tasks

    orgs.mapped(account, workstations=3)
    steady, moved = (
        enable_icb(
            service=make_service(contract, name, units=units),
            actor=admin_user,
            module="rmm",
            billing_type="workstations",
        )
        for name, units in (("Steady", "3"), ("Moved", "1"))
    )
    Service.objects.filter(pk__in=[steady.pk, moved.pk]).update(next_sync_at=timezone.now())
    run_group_tasks(*dispatch_due())
    run = SyncRun.objects.get()
    assert (run.trigger, run.services_changed, run.services_unchanged) == ("nightly", 1, 1)
    html = html_of(admin_client.get(reverse("billing_sync:run_detail", args=[run.pk])))
    assert "Moved" in html and "Steady" not in html
    assert "1 service synced with unchanged units is counted above, not listed." in html
    assert '<option value="unchanged"' not in html


def test_a_run_page_lists_fifty_changes_with_their_breakdowns(
    admin_client, contract, connected, orgs, account, admin_user
):
    """A night that changed many services is paged 50 a page, each with its breakdown, so
    the page stays light (every change carries its quantities table)."""
    from icb.billing_sync.models import SyncRun
    from icb.contracts.models import ServiceUnitChange

    org = orgs.mapped(account, workstations=3)
    service = enable_icb(
        service=make_service(contract, "WS"),
        actor=admin_user,
        module="rmm",
        billing_type="workstations",
    )
    run = SyncRun.objects.create(company=account.company, trigger="nightly")
    detail = {
        "module": "rmm",
        "billing_type": "workstations",
        "quantities": {org.external_id: "3"},
        "measured_at": {},
    }
    ServiceUnitChange.objects.bulk_create(
        ServiceUnitChange(
            company=account.company,
            service=service,
            old_units=Decimal(n),
            new_units=Decimal("3"),
            source="sync",
            sync_run_id=run.pk,
            detail=detail,
            effective_date=service.start_date,
        )
        for n in range(60)
    )
    url = reverse("billing_sync:run_detail", args=[run.pk])
    first = html_of(admin_client.get(url))
    assert first.count('<tbody class="run-entry">') == 50
    assert first.count('<details class="breakdown"') == 50
    last = html_of(admin_client.get(url, {"page": 2}))
    assert last.count('<tbody class="run-entry">') == 10
