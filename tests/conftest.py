"""Shared fixtures: small on purpose. Factories live in tests/factories.py."""

import pytest

from tests.factories import make_company


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
