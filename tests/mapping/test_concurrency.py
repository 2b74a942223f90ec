"""Two saves at the same moment that map one organization to two accounts: exactly one
wins, the other is refused naming the winner's account."""

import threading

import pytest
from django.db import connection

from icb.common.errors import Conflict
from icb.mapping.models import Mapping
from icb.mapping.services import CellChange, apply_changes

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_concurrent_saves_cannot_both_map_one_organization(company, admin_user, orgs, accounts):
    if connection.vendor == "sqlite" and connection.settings_dict["NAME"].startswith(
        ("file:memorydb", ":memory:")
    ):
        pytest.skip("an in-memory SQLite test database is not shared safely between threads")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def save(account):
        barrier.wait()
        try:
            apply_changes(
                company=company,
                user=admin_user,
                changes=[CellChange(account.pk, "rmm", add=["R-200"])],
            )
            outcomes.append("saved")
        except Conflict as exc:
            outcomes.append(exc.message)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=save, args=(accounts[name],)) for name in ("harbor", "cedar")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes)[-1] == "saved" and outcomes.count("saved") == 1, outcomes
    winner = Mapping.objects.get(organization=orgs["cedar"]).account
    refused = next(o for o in outcomes if o != "saved")
    assert f"already mapped to account “{winner.name}”" in refused
