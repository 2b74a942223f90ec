"""The webhooks pages (Admin › Integrations › Webhooks) and the digest choice on the
profile page."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from icb.events.services import record_event
from icb.hub.crypto import decrypt
from icb.notify import services
from icb.notify.models import DigestSubscription, WebhookEndpoint
from tests.factories import make_role, make_user

pytestmark = pytest.mark.django_db


def test_adding_a_webhook_shows_its_secret_once(admin_client, receiver):
    url = reverse("notify:webhooks")
    page = admin_client.post(
        url,
        {"url": receiver.url, "description": "<b>PSA</b>", "events": ["sync_run.finished"]},
    )
    assert page.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    secret = page.context["new_secret"]
    text = page.content.decode()
    assert secret in text and "it will not be shown again" in text
    assert "&lt;b&gt;PSA&lt;/b&gt;" in text and "<b>PSA</b>" not in text
    again = admin_client.get(url).content.decode()
    assert secret not in again and receiver.url in again
    detail = admin_client.get(reverse("notify:webhook_detail", args=[endpoint.pk]))
    assert secret not in detail.content.decode()


def test_a_refused_url_is_shown_next_to_its_field(admin_client, settings):
    settings.ICB_WEBHOOKS_ALLOW_PRIVATE = False
    page = admin_client.post(
        reverse("notify:webhooks"), {"url": "http://10.0.0.5/hook", "events": ["change.held"]}
    )
    assert page.status_code == 200
    assert "private or local address" in page.context["form"].errors["url"][0]
    assert not WebhookEndpoint.objects.exists()


def test_a_test_event_is_delivered_and_logged(admin_client, company, receiver):
    added = admin_client.post(
        reverse("notify:webhooks"), {"url": receiver.url, "events": ["sync_run.finished"]}
    )
    receiver.secret = added.context["new_secret"]  # as the administrator copies it
    endpoint = WebhookEndpoint.objects.get()
    assert decrypt(endpoint.secret_encrypted) == receiver.secret
    detail = reverse("notify:webhook_detail", args=[endpoint.pk])
    page = admin_client.post(detail, {"action": "test"}, follow=True)
    text = page.content.decode()
    assert "Test event delivered." in text
    assert "webhook.test" in text and "HTTP 200" in text
    assert receiver.verified()[0]["data"]["webhook_id"] == endpoint.pk

    admin_client.post(detail, {"action": "disable"})
    assert not WebhookEndpoint.objects.get().enabled
    admin_client.post(detail, {"action": "delete"})
    assert not WebhookEndpoint.objects.exists()


def test_a_viewer_sees_webhooks_but_no_add_nor_actions(company, receiver):
    WebhookEndpoint.objects.create(company=company, url=receiver.url, event_types=["change.held"])
    viewer = make_user(company, "viewer@acme.test", make_role(company, "Viewer", security="view"))
    client = Client()
    client.force_login(viewer)
    text = client.get(reverse("notify:webhooks")).content.decode()
    assert receiver.url in text and "Add webhook" not in text
    endpoint = WebhookEndpoint.objects.get()
    detail = client.get(reverse("notify:webhook_detail", args=[endpoint.pk])).content.decode()
    assert "Send a test event" not in detail


def test_the_digest_choice_on_the_profile(admin_client, admin_user):
    profile = admin_client.get(reverse("tenancy:profile")).content.decode()
    assert "Nightly digest" in profile and 'name="digest" checked' not in profile
    page = admin_client.post(reverse("notify:digest_choice"), {"digest": "on"}, follow=True)
    assert "You will get the nightly digest by email." in page.content.decode()
    assert DigestSubscription.objects.filter(user=admin_user).exists()
    assert 'name="digest" checked' in page.content.decode()
    admin_client.post(reverse("notify:digest_choice"), {})
    assert not DigestSubscription.objects.filter(user=admin_user).exists()


def test_a_role_without_contracts_cannot_ask_for_the_digest(company, client):
    user = make_user(company, "crm@acme.test", make_role(company, "CRM", crm_accounts="modify"))
    client.force_login(user)
    text = client.get(reverse("tenancy:profile")).content.decode()
    assert "the digest is not sent to you" in text


def test_a_delivery_given_up_with_its_webhook_says_so(admin_client, company, receiver, settings):
    settings.ICB_WEBHOOK_ATTEMPTS = 2
    endpoint, receiver.secret = services.endpoint_create(
        company=company, actor=None, url=receiver.url, event_types=["sync_run.finished"]
    )
    receiver.answers = [500] * 4
    record_event(company=company, type="sync_run.finished", payload={"run_id": 1})
    record_event(company=company, type="sync_run.finished", payload={"run_id": 2})
    now = timezone.now()
    services.relay_events(now=now)
    first = endpoint.deliveries.order_by("id").first()
    for _ in range(2):
        services.attempt_delivery(delivery_id=first.pk, now=now)
        now += timedelta(hours=1)
    text = admin_client.get(reverse("notify:webhook_detail", args=[endpoint.pk])).content.decode()
    assert "Disabled after 2 failed attempts without a success." in text
    assert text.count("given up: the webhook was disabled") == 1  # the one never tried
