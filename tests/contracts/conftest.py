"""Fixtures of the contracts tests: a service on the shared contract, another company's
contract, a read-only user, API clients."""

import pytest
from django.test import Client

from icb.tenancy.services import api_token_create
from tests.clients import Api
from tests.factories import make_account, make_contract, make_service, make_user


@pytest.fixture
def service(contract, admin_user):
    from icb.contracts.services import service_create

    return service_create(
        contract=contract,
        actor=admin_user,
        name="Managed Workstations",
        unit_price="45.00",
        units="10",
    )


@pytest.fixture
def other_contract(other_company):
    return make_contract(make_account(other_company, "Rival Customer", "RIVAL"), "Their Deal")


@pytest.fixture
def other_service(other_contract):
    return make_service(other_contract, "Their Service")


@pytest.fixture
def viewer(company):
    return make_user(company, "viewer@acme.test", role="Read-only")


@pytest.fixture
def viewer_client(viewer):
    client = Client()
    client.force_login(viewer)
    return client


@pytest.fixture
def token(admin_user):
    return api_token_create(user=admin_user, name="tests")[1]


@pytest.fixture
def api(token):
    return Api(Client(), token)


@pytest.fixture
def session_api(admin_client):
    return Api(admin_client)


@pytest.fixture
def viewer_api(viewer):
    return Api(Client(), api_token_create(user=viewer, name="viewer")[1])
