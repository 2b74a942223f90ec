"""`icb run`'s sandbox hub keeps its state in the data dir, so stopping and starting
`make run` keeps the hub connected: the next sync works without connecting again."""

from decimal import Decimal

import httpx
import pytest

from icb import cli
from icb.billing_sync.services import enable_icb, sync_now
from icb.hub import services as hub_services
from icb.hub.models import Organization
from sandbox_hub.runner import start_sandbox
from tests.clients import CALLBACK, connect
from tests.factories import make_mapping, make_service

pytestmark = pytest.mark.django_db


def test_run_starts_the_sandbox_with_a_state_file_in_the_data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    settings.ICB_HUB_URL = "http://127.0.0.1:8123"
    command = cli._sandbox_command("8000")
    assert command[1:3] == ["-m", "sandbox_hub"]

    def option(name):
        return command[command.index(name) + 1]

    assert option("--state") == str(tmp_path / "sandbox-hub.json")
    assert option("--port") == "8123"
    # The test controls are on, for this machine only.
    assert option("--host") == "127.0.0.1" and "--test-controls" in command
    assert option("--redirect-uri") == "http://127.0.0.1:8000/admin/integrations/hub/callback/"


def point_at(settings, hub):
    settings.ICB_HUB_URL = hub.url
    settings.ICB_HUB_CLIENT_ID = "icb"
    settings.ICB_HUB_CLIENT_SECRET = "icb-sandbox-secret"
    settings.ICB_HUB_RETRY_BASE = 0.05
    settings.ICB_HUB_TIMEOUT = 3


def test_a_restarted_sandbox_hub_keeps_the_connection(
    settings, tmp_path, company, admin_user, admin_client, account, contract
):
    state = tmp_path / "sandbox-hub.json"
    hub = start_sandbox(redirect_uri=CALLBACK, organizations=20, state_file=state)
    try:
        point_at(settings, hub)
        connect(admin_client)
        org = Organization.objects.filter(
            company=company, module__code="rmm", parent_external_id=""
        ).first()
        make_mapping(account, org)
        service = enable_icb(
            service=make_service(contract, "Managed Workstations", units="1"),
            actor=admin_user,
            module="rmm",
            billing_type="workstations",
        )
        hub.set_quantity("rmm", org.external_id, "workstations", 31)
    finally:
        hub.stop()

    again = start_sandbox(redirect_uri=CALLBACK, organizations=20, state_file=state)
    try:
        point_at(settings, again)  # another port: the address is not what is kept
        service = sync_now(service=service, actor=admin_user)
        assert (service.icb_status, service.units) == ("ok", Decimal("31.00")), service.icb_message
        # The access token runs out: the refresh token from before the restart renews it.
        again.expire_tokens()
        again.set_quantity("rmm", org.external_id, "workstations", 33)
        service = sync_now(service=service, actor=admin_user)
        assert (service.icb_status, service.units) == ("ok", Decimal("33.00")), service.icb_message
        assert hub_services.refresh_directory(company=company)["rmm"]["organizations"] >= 20
        assert httpx.get(again.url + "/").status_code == 200
    finally:
        again.stop()


@pytest.mark.parametrize("command", ["run", "serve", "worker"])
def test_asking_a_command_for_help_prints_it_and_starts_nothing(command, capsys, monkeypatch):
    started = []
    monkeypatch.setattr(cli, "run", lambda argv: started.append(argv) or 0)
    monkeypatch.setattr(cli.subprocess, "call", lambda *a, **k: started.append(a) or 0)
    assert cli.main([command, "--help"]) == 0
    assert started == []
    assert "Commands: run" in capsys.readouterr().out
