"""Finance › Billing review in Chromium: unusual changes from real syncs against the
sandbox hub wait on the page; a finance admin approves one with an effective date,
dismisses one with a reason, adjusts one with a note, and approves the rest in bulk
after a confirmation that states their count and money impact. The service page and the
contract's table say a change is held, with a link to it.

Screenshots go to $ICB_SCREENSHOTS (a directory) when set, else to the test's temporary
directory."""

import datetime
import uuid
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from icb.billing_sync.models import HeldChange
from icb.billing_sync.services import enable_icb, sync_now
from icb.contracts.models import Service, ServiceUnitChange
from icb.hub.models import Organization
from tests.clients import login
from tests.factories import (
    PASSWORD,
    make_account,
    make_company,
    make_contract,
    make_hub_connection,
    make_mapping,
    make_service,
    make_user,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# (account, service, unit price, billing type, units before, units the hub reports now)
CUSTOMERS = [
    ("Harbor Dental Group", "Managed Workstations", "45.00", "workstations", 50, 0),
    ("Northwind Logistics", "Managed Workstations", "39.00", "workstations", 120, 48),
    ("Bluebird Bakery", "Managed Workstations", "45.00", "workstations", 18, 0),
    ("Cedar & Pine Law LLP", "Managed Workstations", "52.50", "workstations", 34, 12),
    ("Summit Orthopedics", "Managed Servers", "150.00", "servers", 6, 0),
]


def _held_world(hub):
    company = make_company("Acme MSP")
    admin = make_user(company, "admin@acme.test")
    make_user(company, "finance@acme.test", role="Finance")
    tokens = hub.obtain_tokens()
    services = {}
    orgs = {}
    for name, service_name, price, kind, before, after in CUSTOMERS:
        org_id = f"e2e-{uuid.uuid4().hex[:8]}"
        hub.add_organization("rmm", name, id=org_id, quantities={kind: str(before)})
        orgs[name] = (org_id, kind, after)
    make_hub_connection(company, tokens, read_directory=True)
    for name, service_name, price, kind, before, after in CUSTOMERS:
        account = make_account(company, name, name.split()[0].upper()[:8])
        contract = make_contract(account, "Managed Services")
        make_mapping(account, Organization.objects.get(company=company, external_id=orgs[name][0]))
        service = enable_icb(
            service=make_service(contract, service_name, unit_price=price, units="1"),
            actor=admin,
            module="rmm",
            billing_type=kind,
        )
        service = sync_now(service=service, actor=admin)
        assert service.units == before
        services[name] = service
    for name, (org_id, kind, after) in orgs.items():
        hub.set_quantity("rmm", org_id, kind, str(after))
        sync_now(service=services[name], actor=admin)
    assert HeldChange.objects.filter(company=company, status="pending").count() == len(CUSTOMERS)
    return company, services


def _entry(page, account):
    return page.locator("tbody.review-entry").filter(has_text=account)


def test_approve_dismiss_adjust_and_bulk_approve(page, live_server, hub, shots):
    company, services = _held_world(hub)
    login(page, live_server, "finance@acme.test", PASSWORD)

    menu = page.get_by_role("navigation", name="Main menu")
    expect(menu.get_by_role("link", name="Billing review 5")).to_be_visible()
    menu.get_by_role("link", name="Billing review 5").click()
    expect(page.get_by_role("heading", name="Billing review")).to_be_visible()
    # Largest monthly impact first: Northwind's −72 × 39.00 = −2,808.00.
    first = page.locator("tbody.review-entry").first
    expect(first).to_contain_text("Northwind Logistics")
    expect(first).to_contain_text("120.00 → 48.00")
    expect(page.locator(".review-totals")).to_contain_text("-7,923.00 USD")
    page.screenshot(path=str(shots / "billing-review.png"), full_page=True)

    # Approve Harbor's drop to zero, effective three days ago.
    day = timezone.localdate(timezone.now(), company.zone) - datetime.timedelta(days=3)
    harbor = _entry(page, "Harbor Dental Group")
    expect(harbor).to_contain_text("Drop to zero")
    harbor.get_by_label("Effective").fill(day.isoformat())
    harbor.get_by_role("button", name="Approve").click()
    expect(
        page.get_by_text("Approved: Managed Workstations (50.00 → 0.00 proposed).")
    ).to_be_visible()
    row = ServiceUnitChange.objects.get(service=services["Harbor Dental Group"], source="approved")
    assert (row.new_units, row.effective_date, row.user.email) == (
        Decimal("0.00"),
        day,
        "finance@acme.test",
    )

    # Dismiss Bluebird's with a reason.
    bluebird = _entry(page, "Bluebird Bakery")
    bluebird.get_by_text("Dismiss or adjust").click()
    bluebird.get_by_label("Reason").fill("RMM agent offline during the audit")
    bluebird.get_by_role("button", name="Dismiss").click()
    expect(page.get_by_text("Dismissed: Managed Workstations")).to_be_visible()
    assert Service.objects.get(pk=services["Bluebird Bakery"].pk).units == 18

    # Adjust Cedar & Pine's to 30 with a note.
    cedar = _entry(page, "Cedar & Pine Law LLP")
    cedar.get_by_text("Dismiss or adjust").click()
    cedar.get_by_label("Set units to").fill("30")
    cedar.get_by_label("Note").fill("Four laptops are in repair, still billed")
    cedar.get_by_role("button", name="Adjust").click()
    expect(page.get_by_text("Adjusted: Managed Workstations")).to_be_visible()
    assert Service.objects.get(pk=services["Cedar & Pine Law LLP"].pk).units == 30

    # Bulk approve the two left: the confirmation states count and money.
    questions = []

    def answer(dialog):
        questions.append(dialog.message)
        dialog.accept()

    page.on("dialog", answer)
    page.get_by_role("button", name="Approve all 2").click()
    expect(page.get_by_text("Approved 2 held change(s).")).to_be_visible()
    assert questions and "Approve 2 held changes?" in questions[0]
    assert "-3,708.00 USD" in questions[0]  # −72 × 39.00 − 6 × 150.00
    assert Service.objects.get(pk=services["Northwind Logistics"].pk).units == 48
    assert Service.objects.get(pk=services["Summit Orthopedics"].pk).units == 0
    expect(page.get_by_text("Nothing is waiting for review.")).to_be_visible()
    page.goto(f"{live_server.url}/finance/billing-review/?status=approved")
    page.screenshot(path=str(shots / "billing-review-approved.png"), full_page=True)


def test_the_service_and_contract_pages_say_a_change_is_held(page, live_server, hub, shots):
    company, services = _held_world(hub)
    service = services["Harbor Dental Group"]
    login(page, live_server, "admin@acme.test", PASSWORD)

    page.goto(f"{live_server.url}/finance/contracts/{service.contract_id}/")
    page.get_by_role("tab", name="Billing Information").click()
    note = page.locator(".held-badge")
    expect(note).to_be_visible()
    expect(note).to_have_text("Held for review: 50.00 → 0.00")
    page.screenshot(path=str(shots / "contract-held-change.png"), full_page=True)

    page.goto(f"{live_server.url}/finance/contracts/{service.contract_id}/services/{service.pk}/")
    held = page.locator(".held-note")
    expect(held).to_contain_text("Change held for review: 50.00 → 0.00 (drop to zero)")
    page.screenshot(path=str(shots / "service-held-change.png"), full_page=True)
    held.get_by_role("link", name="Review it").click()
    expect(page.locator("tbody.review-entry")).to_have_count(1)
    expect(page.locator("tbody.review-entry")).to_contain_text("Harbor Dental Group")

    page.goto(f"{live_server.url}/admin/my-company/billing-review/")
    page.get_by_label("Change of more than (units)").first.fill("25")
    page.get_by_role("button", name="Save policy").click()
    expect(page.get_by_text("The review policy was saved.")).to_be_visible()
    expect(page.get_by_text("Change of more than (units): off → 25")).to_be_visible()
    page.screenshot(path=str(shots / "billing-review-policy.png"), full_page=True)
