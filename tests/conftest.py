"""Shared fixtures: small on purpose. Factories live in tests/factories.py."""

import pytest

from tests.factories import make_company


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    """Hashing with PBKDF2's 1,000,000 rounds is most of the time of a test that makes a
    user; the password rules are not what these tests are about. Processes the tests
    start keep the real hashers (they log in with force_login)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def company(db):
    return make_company("Acme MSP")


@pytest.fixture
def other_company(db):
    return make_company("Rival MSP")


@pytest.fixture
def admin_user(company):
    from tests.factories import make_user

    return make_user(company, "admin@acme.test", role="Administrator")


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client
