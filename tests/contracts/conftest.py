"""Fixtures of the contracts tests: one account with one contract, users per role."""

import json

import pytest
from django.test import Client

from icb.tenancy.services import api_token_create
from tests.factories import make_account, make_contract, make_service, make_user


@pytest.fixture
def account(company):
    return make_account(company, "Harbor Dental Group", "HARBOR")


@pytest.fixture
def contract(account):
    return make_contract(account, "Managed Services")


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


class Api:
    """JSON calls to /api/v1 with a Bearer token (or the session, if no token)."""

    def __init__(self, client, token=None):
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def _call(self, method, path, body=None, raw=None, **params):
        kwargs = {"headers": self.headers}
        if method in ("post", "patch", "put"):
            kwargs["data"] = raw if raw is not None else json.dumps(body)
            kwargs["content_type"] = "application/json"
        elif params:
            kwargs["data"] = params
        return getattr(self.client, method)(f"/api/v1{path}", **kwargs)

    def get(self, path, **params):
        return self._call("get", path, **params)

    def post(self, path, body=None, raw=None):
        return self._call("post", path, body, raw)

    def patch(self, path, body=None, raw=None):
        return self._call("patch", path, body, raw)

    def delete(self, path):
        return self._call("delete", path)


@pytest.fixture
def api(token):
    return Api(Client(), token)


@pytest.fixture
def session_api(admin_client):
    return Api(admin_client)


@pytest.fixture
def viewer_api(viewer):
    return Api(Client(), api_token_create(user=viewer, name="viewer")[1])
