"""The ICB tab of a service form: one service applies what it asks."""

import pytest

from icb.billing_sync.services import IcbChoiceRefused, apply_icb_choice
from tests.factories import make_service

pytestmark = pytest.mark.django_db


def test_a_module_turns_icb_on(contract, connected, admin_user):
    service = make_service(contract, "Workstations")
    service = apply_icb_choice(
        service=service, actor=admin_user, module="rmm", billing_type="workstations"
    )
    assert service.is_icb and service.icb_billing_type.code == "workstations"


def test_no_module_stops_icb_and_no_tab_leaves_it(icb_service, admin_user):
    kept = apply_icb_choice(service=icb_service, actor=admin_user, module=None, billing_type="")
    assert kept.is_icb
    stopped = apply_icb_choice(service=icb_service, actor=admin_user, module="", billing_type="")
    assert stopped.billing_mode == "manual"


def test_a_refusal_is_told_apart_from_the_form_s_errors(contract, connected, admin_user):
    service = make_service(contract, "Workstations")
    with pytest.raises(IcbChoiceRefused) as refused:
        apply_icb_choice(service=service, actor=admin_user, module="rmm", billing_type="nope")
    assert (refused.value.status, list(refused.value.errors)) == (422, ["billing_type"])
    assert "Unknown billing type" in refused.value.message
    service.refresh_from_db()
    assert not service.is_icb
