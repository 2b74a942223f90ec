"""The login lock-out (policy: docs/operations.md "Login lock-out").

- An account and an address together: 5 failures lock that account from that address.
- An account alone: 10 failures from any addresses lock the account everywhere.
- An address alone: 50 failures on any accounts lock every login from the address.
A lock lasts 15 minutes after the last failure. While locked, the right password gets
exactly the answer a wrong one gets, so the answer never tells which guess was right.
"""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client

from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db

ATTACKER = "10.0.0.9"
OTHER = "10.0.0.20"


def _login(email: str, password: str, address: str, client: Client | None = None):
    client = client or Client()
    return client.post("/login/", {"username": email, "password": password}, REMOTE_ADDR=address)


def _logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_the_policy_limits_are_the_documented_ones():
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.ICB_LOGIN_ACCOUNT_FAILURE_LIMIT == 10
    assert settings.ICB_LOGIN_ADDRESS_FAILURE_LIMIT == 50
    assert settings.AXES_COOLOFF_TIME == timedelta(minutes=15)


def test_locked_account_refuses_the_right_password_with_the_same_answer(company):
    make_user(company, "a@acme.test")
    answers = [_login("a@acme.test", "wrong", ATTACKER).status_code for _ in range(5)]
    assert answers == [200, 200, 200, 200, 429]
    wrong = _login("a@acme.test", "wrong-again", ATTACKER)
    client = Client()
    right = _login("a@acme.test", PASSWORD, ATTACKER, client)
    assert right.status_code == wrong.status_code == 429
    assert right.content == wrong.content
    assert b"Too many failed logins" in right.content
    assert not _logged_in(client)
    assert client.get("/").status_code == 302  # no session: back to the login page


def test_the_stored_failures_name_the_account(company):
    make_user(company, "a@acme.test")
    _login(" A@Acme.TEST ", "wrong", ATTACKER)
    _login("a@acme.test", "wrong", ATTACKER)
    attempts = list(AccessAttempt.objects.values_list("username", "ip_address"))
    assert set(attempts) == {("a@acme.test", ATTACKER)}


def test_spelling_variants_of_an_email_count_for_the_same_account(company):
    make_user(company, "a@acme.test")
    for variant in ("A@acme.test", "a@ACME.test", " a@acme.test", "a@acme.test ", "A@ACME.TEST"):
        _login(variant, "wrong", ATTACKER)
    assert _login("a@acme.test", PASSWORD, ATTACKER).status_code == 429


def test_another_user_behind_the_same_address_is_not_locked(company):
    make_user(company, "a@acme.test")
    make_user(company, "b@acme.test")
    for _ in range(6):
        _login("b@acme.test", "wrong", ATTACKER)
    assert _login("b@acme.test", PASSWORD, ATTACKER).status_code == 429
    # a's own mistyped password is an ordinary failed login, and the right one works.
    mistyped = _login("a@acme.test", "wrong", ATTACKER)
    assert mistyped.status_code == 200 and b"Please enter a correct" in mistyped.content
    client = Client()
    assert _login("a@acme.test", PASSWORD, ATTACKER, client).status_code == 302
    assert _logged_in(client)


def test_the_owner_from_another_address_is_not_locked_by_a_few_failures(company):
    make_user(company, "a@acme.test")
    for _ in range(5):
        _login("a@acme.test", "wrong", ATTACKER)
    assert _login("a@acme.test", PASSWORD, ATTACKER).status_code == 429
    assert _login("a@acme.test", PASSWORD, OTHER).status_code == 302


def test_an_account_attacked_from_many_addresses_locks_everywhere(company):
    make_user(company, "a@acme.test")
    for i in range(10):  # one guess from each of ten addresses
        _login("a@acme.test", "wrong", f"10.1.0.{i}")
    assert _login("a@acme.test", PASSWORD, OTHER).status_code == 429
    assert _login("a@acme.test", PASSWORD, "10.1.0.99").status_code == 429


def test_an_abusive_address_is_locked_for_every_account(company):
    make_user(company, "a@acme.test")
    for i in range(50):  # password spraying: few guesses per account
        _login(f"user{i % 25}@acme.test", "wrong", ATTACKER)
    assert _login("a@acme.test", PASSWORD, ATTACKER).status_code == 429
    assert _login("a@acme.test", PASSWORD, OTHER).status_code == 302


def test_logging_in_to_an_own_account_does_not_clear_an_address_s_failures(company):
    make_user(company, "a@acme.test")
    make_user(company, "mallory@acme.test")
    for i in range(49):
        _login(f"user{i % 20}@acme.test", "wrong", ATTACKER)
    assert _login("mallory@acme.test", PASSWORD, ATTACKER).status_code == 302
    assert _login("user1@acme.test", "wrong", ATTACKER).status_code == 429
    assert _login("a@acme.test", PASSWORD, ATTACKER).status_code == 429


def test_a_successful_login_clears_that_account_s_own_failures_from_that_address(company):
    make_user(company, "a@acme.test")
    for _ in range(4):
        _login("a@acme.test", "wrong", OTHER)
    assert _login("a@acme.test", PASSWORD, OTHER).status_code == 302
    for _ in range(4):
        assert _login("a@acme.test", "wrong", OTHER).status_code == 200


def test_the_lock_ends_after_the_cool_off(company):
    make_user(company, "a@acme.test")
    for _ in range(5):
        _login("a@acme.test", "wrong", ATTACKER)
    assert _login("a@acme.test", PASSWORD, ATTACKER).status_code == 429
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=14)
    )
    assert _login("a@acme.test", PASSWORD, ATTACKER).status_code == 429  # still locked
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=16)
    )
    client = Client()
    assert _login("a@acme.test", PASSWORD, ATTACKER, client).status_code == 302
    assert _logged_in(client)


def test_behind_a_proxy_the_client_s_address_counts(company, settings):
    settings.ICB_TRUSTED_PROXIES = 1
    proxy = "192.0.2.1"
    make_user(company, "a@acme.test")

    def through_proxy(email, password, forwarded, client=None):
        client = client or Client()
        return client.post(
            "/login/",
            {"username": email, "password": password},
            REMOTE_ADDR=proxy,
            HTTP_X_FORWARDED_FOR=forwarded,
        )

    for i in range(60):  # spraying from one client, inventing its own X-Forwarded-For
        through_proxy(f"user{i % 25}@acme.test", "wrong", f"203.0.113.{i}, {ATTACKER}")
    assert through_proxy("a@acme.test", PASSWORD, ATTACKER).status_code == 429
    assert through_proxy("a@acme.test", PASSWORD, OTHER).status_code == 302
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {ATTACKER}
