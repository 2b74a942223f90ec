"""The webhooks API: the secret answered once, bad input refused with field errors and
nothing stored, another company's webhook a 404."""

import json

import pytest

from icb.notify.models import WebhookEndpoint

pytestmark = pytest.mark.django_db


def _post(client, body):
    return client.post("/api/v1/webhooks", json.dumps(body), content_type="application/json")


def test_add_list_delete(admin_client, receiver):
    created = _post(
        admin_client,
        {"url": receiver.url, "events": ["change.held", "sync_run.finished"], "description": "PSA"},
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["secret"].startswith("whsec_")
    assert body["events"] == ["sync_run.finished", "change.held"]  # documented order
    assert body["enabled"] is True and body["description"] == "PSA"

    [listed] = admin_client.get("/api/v1/webhooks").json()
    assert listed["id"] == body["id"] and "secret" not in listed
    assert body["secret"] not in admin_client.get("/api/v1/webhooks").content.decode()

    assert admin_client.delete(f"/api/v1/webhooks/{body['id']}").status_code == 204
    assert admin_client.get("/api/v1/webhooks").json() == []


@pytest.mark.parametrize(
    "body, field",
    [
        ({"url": "ftp://example.com/x", "events": ["change.held"]}, "url"),
        ({"url": "https://example.com/x", "events": []}, "events"),
        ({"url": "https://example.com/x", "events": ["invoice.paid"]}, "events.0"),
        ({"url": "https://example.com/x"}, "events"),
        ({"url": "x" * 501, "events": ["change.held"]}, "url"),
    ],
)
def test_bad_input_is_refused_with_its_field(admin_client, body, field):
    answer = _post(admin_client, body)
    assert answer.status_code == 422, answer.content
    assert field in answer.json()["errors"], answer.json()
    assert not WebhookEndpoint.objects.exists()


def test_private_addresses_are_refused_by_default(admin_client, settings):
    settings.ICB_WEBHOOKS_ALLOW_PRIVATE = False
    answer = _post(admin_client, {"url": "http://127.0.0.1:8000/x", "events": ["change.held"]})
    assert answer.status_code == 422
    assert "private or local address" in answer.json()["errors"]["url"][0]


def test_another_companys_webhook_is_not_found(admin_client, other_company):
    theirs = WebhookEndpoint.objects.create(
        company=other_company, url="https://example.com/h", event_types=["change.held"]
    )
    assert admin_client.delete(f"/api/v1/webhooks/{theirs.pk}").status_code == 404
    assert admin_client.get("/api/v1/webhooks").json() == []
    assert WebhookEndpoint.objects.filter(pk=theirs.pk).exists()
