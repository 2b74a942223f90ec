"""The sync preview: what a sync would change now, for a service, an account or the
company, against the sandbox hub; then the real sync makes the same decisions, and the
preview wrote nothing."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.core import serializers
from django.test import Client
from django.utils import timezone

from icb.billing_sync.models import HeldChange
from icb.billing_sync.preview import preview_services
from icb.billing_sync.services import enable_icb, sync_now
from icb.billing_sync.tasks import preview_company_task
from icb.contracts.models import Service
from icb.review import services as review_services
from tests.clients import Api
from tests.factories import make_account, make_contract, make_service, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(admin_client):
    return Api(admin_client)


def icb(contract, name, units, admin_user):
    service = make_service(contract, name, units=units)
    return enable_icb(service=service, actor=admin_user, module="rmm", billing_type="workstations")


@pytest.fixture
def world(synced, contract, account, company, orgs, admin_user):
    """The account's organization reports 50 workstations; its ICB services stand at
    various units, so a sync applies, holds, keeps and leaves them; another account has
    no mapping, and a service is billed manually."""
    services = {
        "synced": synced.service,  # 50 → 50: unchanged
        "up": icb(contract, "Up", "45", admin_user),  # 45 → 50: applied
        "drop": icb(contract, "Drop", "200", admin_user),  # 200 → 50: held (drop over half)
        "dismissed": icb(contract, "Dismissed", "120", admin_user),  # 120 → 50 dismissed
    }
    sync_now(service=services["synced"], actor=admin_user)
    # A person dismissed 120 → 50 before: the same number again is kept.
    held = sync_now(service=services["dismissed"], actor=admin_user)
    review_services.dismiss(
        held=HeldChange.objects.get(service=held, status="pending"), actor=admin_user
    )
    make_service(contract, "Manual", units="3")
    other = make_contract(make_account(company, "Unmapped Inc", code="UNM"))
    services["unmapped"] = icb(other, "Unmapped", "7", admin_user)
    synced.report(50)
    return services


EXPECTED = {
    "synced": ("unchanged", None),
    "up": ("applied", None),
    "drop": ("held", "drop_percent"),
    "dismissed": ("kept", None),
    "unmapped": ("mapping_incomplete", None),
}


def snapshot() -> dict:
    """Every row of every table of the project, serialized: what 'writes nothing' means."""
    dump = {}
    for model in apps.get_models():
        if model._meta.app_label in ("sessions", "admin"):
            continue
        dump[model._meta.label] = serializers.serialize("json", model.objects.order_by("pk"))
    return dump


def decisions_of(rows):
    return {row.service_id: (row.decision, row.rule) for row in rows}


def test_the_preview_of_the_company_is_what_the_sync_then_does_and_writes_nothing(
    world, company, admin_user
):
    before = snapshot()
    rows = preview_services(company, Service.objects.for_company(company))
    assert snapshot() == before
    by_name = {row.service: row for row in rows}
    decided = {name: (by_name[s.name].decision, by_name[s.name].rule) for name, s in world.items()}
    assert decided == EXPECTED
    assert "Manual" not in by_name
    drop = by_name["Drop"]
    assert (drop.current_units, drop.new_units, drop.monthly_impact) == (
        Decimal("200.00"),
        Decimal("50.00"),
        Decimal("-6750.00"),
    )
    assert by_name["Unmapped"].message == "Mapping Settings Incomplete"

    # The real sync, service by service: the same decisions.
    for row in rows:
        service = sync_now(service=Service.objects.get(pk=row.service_id), actor=admin_user)
        pending = HeldChange.objects.filter(service=service, status="pending").first()
        if row.decision == "held":
            assert service.units == row.current_units
            assert (pending.proposed_units, pending.rule) == (row.new_units, row.rule)
        elif row.decision == "applied":
            assert service.units == row.new_units and pending is None
        else:
            assert service.units == row.current_units and pending is None
    # And once synced, a preview has nothing left to change.
    again = decisions_of(preview_services(company, Service.objects.for_company(company)))
    assert {d for d, _ in again.values()} == {"unchanged", "held", "kept", "mapping_incomplete"}


def test_api_previews_a_service_and_an_account(api, world, account):
    before = snapshot()
    one = api.post("/sync-preview", {"service_id": world["drop"].pk})
    assert one.status_code == 200, one.content
    [row] = one.json()["services"]
    assert row == {
        "service_id": world["drop"].pk,
        "service": "Drop",
        "contract_id": world["drop"].contract_id,
        "account_id": account.pk,
        "account": account.name,
        "module": "rmm",
        "current_units": "200.00",
        "new_units": "50.00",
        "decision": "held",
        "rule": "drop_percent",
        "message": "",
        "monthly_impact": "-6750.00",
        "currency": "USD",
    }
    whole = api.post("/sync-preview", {"account_id": account.pk}).json()
    assert whole["counts"] == {
        "applied": 1,
        "held": 1,
        "kept": 1,
        "unchanged": 1,
        "failed": 0,
        "mapping_incomplete": 0,
    }
    assert snapshot() == before


@pytest.mark.parametrize(
    "body", [{}, {"service_id": 1, "account_id": 1}, {"service_id": "x"}, {"service_id": 0}]
)
def test_api_wants_exactly_one_scope(api, body):
    response = api.post("/sync-preview", body)
    assert response.status_code == 422, response.content


def test_another_companys_service_or_account_is_404(api, other_company, admin_user):
    other = make_contract(make_account(other_company, "Theirs", code="TH"))
    service = make_service(other, "Theirs")
    assert api.post("/sync-preview", {"service_id": service.pk}).status_code == 404
    assert api.post("/sync-preview", {"account_id": other.account_id}).status_code == 404


def test_a_hub_failure_is_each_services_failed_row_and_writes_nothing(api, world, connected):
    connected.set_fault(endpoint="usage", kind="error", status=503)
    before = snapshot()
    body = api.post("/sync-preview", {"service_id": world["up"].pk}).json()
    [row] = body["services"]
    assert (row["decision"], row["new_units"]) == ("failed", None)
    assert "internal error (503)" in row["message"]
    assert snapshot() == before


def test_a_hub_not_connected_is_409(company, admin_user):
    client = Client()
    client.force_login(admin_user)
    account = make_account(company, "Any", code="ANY")
    response = Api(client).post("/sync-preview", {"account_id": account.pk})
    assert response.status_code == 409 and "not connected" in response.json()["detail"]


def test_read_only_users_may_preview(world, company):
    client = Client()
    client.force_login(make_user(company, "ro@acme.test", role="Read-only"))
    response = Api(client).post("/sync-preview", {"service_id": world["up"].pk})
    assert response.status_code == 200 and response.json()["counts"]["applied"] == 1


def test_the_company_preview_runs_in_the_background_and_pages_its_rows(
    api, world, company, admin_user, django_capture_on_commit_callbacks, monkeypatch
):
    from icb.billing_sync.models import SyncPreview

    old = SyncPreview.objects.create(company=company, status="done")
    SyncPreview.objects.filter(pk=old.pk).update(created_at=old.created_at - timedelta(days=2))
    before = snapshot_without_previews()
    with django_capture_on_commit_callbacks() as callbacks:
        started = api.post("/sync-preview", {"all": True})
    assert started.status_code == 202, started.content
    preview_id = started.json()["id"]
    running = api.get(f"/sync-previews/{preview_id}").json()
    assert (running["status"], running["services_done"], running["services_total"]) == (
        "running",
        0,
        5,
    )
    assert running["items"] == []
    assert not SyncPreview.objects.filter(pk=old.pk).exists()  # old ones cleaned up
    [enqueue] = callbacks
    # The task, run here by Celery itself (eagerly: no worker needed).
    monkeypatch.setitem(preview_company_task.app.conf, "task_always_eager", True)
    enqueue()
    done = api.get(f"/sync-previews/{preview_id}", page_size=2).json()
    assert (done["status"], done["services_done"], done["count"], done["pages"]) == (
        "done",
        5,
        5,
        3,
    )
    # Largest monthly impact first: Drop's 200 → 50 at 45.00.
    assert [row["service"] for row in done["items"]] == ["Drop", "Up"]
    assert done["counts"]["held"] == 1 and done["counts"]["mapping_incomplete"] == 1
    held = api.get(f"/sync-previews/{preview_id}", decision="held").json()
    assert [row["service"] for row in held["items"]] == ["Drop"]
    assert snapshot_without_previews() == before
    # The same decisions as the account's preview answered at once.
    direct = decisions_of(preview_services(company, Service.objects.for_company(company)))
    stored = SyncPreview.objects.get(pk=preview_id).rows
    assert {r["service_id"]: (r["decision"], r["rule"]) for r in stored} == direct


def snapshot_without_previews() -> dict:
    return {k: v for k, v in snapshot().items() if k != "billing_sync.SyncPreview"}


def test_another_companys_preview_is_404(api, other_company):
    from icb.billing_sync.models import SyncPreview

    theirs = SyncPreview.objects.create(company=other_company)
    assert api.get(f"/sync-previews/{theirs.pk}").status_code == 404


def test_all_must_be_true(api):
    assert api.post("/sync-preview", {"all": False}).status_code == 422
    assert api.post("/sync-preview", {"all": True, "service_id": 3}).status_code == 422


def test_a_preview_whose_worker_died_is_shown_and_answered_as_failed(api, admin_client, company):
    from icb.billing_sync.models import SyncPreview
    from icb.review.selectors import PREVIEW_STALLED, PREVIEW_STALLED_ERROR

    preview = SyncPreview.objects.create(company=company, services_total=5)
    page = f"/finance/billing-review/preview/{preview.pk}/"
    just_alive = timezone.now() - PREVIEW_STALLED + timedelta(minutes=1)
    SyncPreview.objects.filter(pk=preview.pk).update(updated_at=just_alive)
    assert api.get(f"/sync-previews/{preview.pk}").json()["status"] == "running"
    html = admin_client.get(page).content.decode()
    assert 'http-equiv="refresh"' in html and "Reading the hub" in html
    # Silent for longer than PREVIEW_STALLED: its worker died.
    silent = timezone.now() - PREVIEW_STALLED - timedelta(minutes=1)
    SyncPreview.objects.filter(pk=preview.pk).update(updated_at=silent)
    answer = api.get(f"/sync-previews/{preview.pk}").json()
    assert (answer["status"], answer["error"]) == ("failed", PREVIEW_STALLED_ERROR)
    html = admin_client.get(page).content.decode()
    assert 'http-equiv="refresh"' not in html and "its worker did not finish" in html
    assert SyncPreview.objects.get(pk=preview.pk).status == "running"  # read, not written
