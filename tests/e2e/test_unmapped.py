"""The finance admin starts the month on Finance › Unmapped usage, in Chromium: the demo's
customers at the sandbox hub, some mapped, the usage of the others read and valued; the
menu counts them, the page suggests accounts, and accepting one maps it; then every
suggestion above a confidence is accepted at once.

Its screenshot (the README's) goes to $ICB_SCREENSHOTS (a directory) when set, else to the
test's temporary directory."""

import pytest
from playwright.sync_api import expect

from icb.contracts.models import Service
from icb.crm.models import Account
from icb.demo import create_demo_data, map_demo_organizations
from icb.hub.models import BillingType, Organization
from icb.mapping import unmapped_selectors
from icb.mapping.models import Mapping
from icb.mapping.unmapped import run_scan
from tests.clients import login
from tests.factories import PASSWORD, make_company, make_hub_connection, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PRICES = [
    ("rmm", "workstations", "45.00"),
    ("rmm", "servers", "120.00"),
    ("backup", "protected_devices", "35.00"),
]


def _bill_by_icb(company) -> None:
    """Some demo services billed by Integrated Customer Billing, so the company has a
    usual price per module and billing type."""
    services = list(Service.objects.for_company(company).order_by("pk")[: len(PRICES)])
    for service, (module, code, price) in zip(services, PRICES, strict=True):
        billing_type = BillingType.objects.get(
            module__company=company, module__code=module, code=code
        )
        Service.objects.filter(pk=service.pk).update(
            billing_mode="icb",
            icb_module=billing_type.module,
            icb_billing_type=billing_type,
            unit_price=price,
        )


def test_accept_a_suggestion_then_all_sure_ones(page, live_server, hub, shots):
    company = make_company("Acme MSP")
    admin = make_user(company, "admin@acme.test")
    create_demo_data(company=company, actor=admin)
    make_hub_connection(company, hub.obtain_tokens(), read_directory=True)
    map_demo_organizations(company=company, user=admin)
    _bill_by_icb(company)
    run_scan(company=company)
    count = unmapped_selectors.unmapped_count(company=company)
    assert count > 10

    login(page, live_server, "admin@acme.test", PASSWORD)
    tile = page.locator("a.card").filter(has_text="Unmapped usage")  # the home page's
    expect(tile).to_contain_text(f"{count} to look at")
    menu = page.get_by_role("navigation", name="Main menu")
    expect(menu.get_by_role("link", name="Unmapped usage")).to_contain_text(str(count))
    menu.get_by_role("link", name="Unmapped usage").click()
    expect(page.get_by_role("heading", name="Unmapped usage")).to_be_visible()
    page.screenshot(path=str(shots / "unmapped-usage.png"))

    harbor = Account.objects.get(company=company, code="HARBOR")
    training = (  # the sandbox's own (other tests may add namesakes to the shared hub)
        Organization.objects.filter(
            company=company, module__code="training", name="harbor dental group"
        )
        .order_by("pk")
        .first()
    )
    page.get_by_label("Module").select_option(label="Security Awareness Training")
    page.get_by_role("button", name="Filter").click()
    unmapped = page.locator("table.unmapped")
    row = unmapped.get_by_role("row").filter(has_text=training.external_id)
    expect(row).to_contain_text("Harbor Dental Group")
    expect(row).to_contain_text("% sure")
    row.get_by_role("button", name="Accept: map harbor dental group to Harbor Dental Group").click()
    expect(
        page.get_by_text("The suggestion was accepted: the organization is mapped.")
    ).to_be_visible()
    expect(unmapped.get_by_role("row").filter(has_text=training.external_id)).to_have_count(0)
    assert Mapping.objects.get(organization=training).account == harbor
    expect(menu.get_by_role("link", name="Unmapped usage")).to_contain_text(str(count - 1))

    page.get_by_label("at least this sure").fill("95")
    page.get_by_role("button", name="Accept suggestions").click()
    expect(page.get_by_text("were accepted and mapped")).to_be_visible()
    mapped_by_hand = Mapping.objects.filter(company=company, created_by=admin).count()
    assert mapped_by_hand > 2
    assert unmapped_selectors.unmapped_count(company=company) < count - 1
