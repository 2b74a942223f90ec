"""Telling people, in the browser: a user asks for the nightly digest on their profile;
an administrator adds a webhook, copies its secret, sends a test event that the receiver
verifies, and reads the delivery log."""

import pytest
from playwright.sync_api import expect

from icb.notify.models import DigestSubscription, WebhookEndpoint
from tests.clients import login
from tests.factories import PASSWORD, make_company, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_user_asks_for_the_nightly_digest(page, live_server, shots):
    company = make_company("Acme MSP")
    user = make_user(company, "finance@acme.test", "Finance")
    login(page, live_server, "finance@acme.test", PASSWORD)

    page.get_by_role("link", name="finance@acme.test").click()
    section = page.locator("#digest-preference")
    box = section.get_by_role("checkbox", name="Email me a digest after each nightly sync")
    expect(box).not_to_be_checked()
    expect(section).to_contain_text("times in America/New_York")
    box.check()
    section.get_by_role("button", name="Save").click()
    expect(page.get_by_text("You will get the nightly digest by email.")).to_be_visible()
    expect(page.locator("#digest-preference").get_by_role("checkbox")).to_be_checked()
    assert DigestSubscription.objects.filter(user=user).exists()
    page.screenshot(path=str(shots / "profile-digest.png"), full_page=True)

    page.locator("#digest-preference").get_by_role("checkbox").uncheck()
    page.locator("#digest-preference").get_by_role("button", name="Save").click()
    expect(page.get_by_text("You will no longer get the nightly digest.")).to_be_visible()
    assert not DigestSubscription.objects.filter(user=user).exists()


def test_an_administrator_adds_a_webhook_and_sends_a_test_event(
    page, live_server, receiver, settings, shots
):
    settings.ICB_WEBHOOKS_ALLOW_PRIVATE = True  # the receiver listens on loopback
    company = make_company("Acme MSP")
    make_user(company, "admin@acme.test")
    login(page, live_server, "admin@acme.test", PASSWORD)

    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Webhooks").click()
    expect(page.get_by_text("No webhooks yet.")).to_be_visible()
    page.get_by_role("button", name="Add webhook").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("URL").fill(receiver.url)
    dialog.get_by_label("Description").fill("PSA ticketing")
    dialog.get_by_label("organization.unmapped", exact=False).uncheck()
    dialog.get_by_role("button", name="Add webhook").click()

    expect(page.get_by_text("Copy its signing secret now")).to_be_visible()
    receiver.secret = page.locator("#new-secret").inner_text().strip()
    assert receiver.secret.startswith("whsec_")
    endpoint = WebhookEndpoint.objects.get()
    assert "organization.unmapped" not in endpoint.event_types
    page.screenshot(path=str(shots / "webhooks-added.png"), full_page=True)

    page.get_by_role("link", name="Send it a test event").click()
    page.get_by_role("button", name="Send a test event").click()
    expect(page.get_by_text("Test event delivered.")).to_be_visible()
    expect(page.get_by_role("cell", name="webhook.test")).to_be_visible()
    expect(page.get_by_text("HTTP 200")).to_be_visible()
    assert receiver.verified()[0]["type"] == "webhook.test"
    page.screenshot(path=str(shots / "webhook-log.png"), full_page=True)

    page.goto(f"{live_server.url}/admin/integrations/webhooks/")
    expect(page.get_by_text(receiver.secret)).to_have_count(0)  # shown once only
