"""Fuzz the API from its published OpenAPI document: generated requests, valid and not,
against every route, as an administrator with real data in the database. No answer may
be a 5xx, a schema-violating request must be refused, and every answer must match what
the document says (status, content type, body schema). Bounded in examples per route
(ICB_FUZZ_EXAMPLES) so the whole run stays in minutes. Not in the default run: `make
fuzz`, and CI on PostgreSQL."""

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from icb.hub.models import BillingType, Module, Organization
from icb.tenancy.services import api_token_create
from tests.factories import make_account, make_contract, make_service, make_user

pytestmark = pytest.mark.fuzz

EXAMPLES = int(os.environ.get("ICB_FUZZ_EXAMPLES", "25"))


# The document is read through the app itself (no database needed for it).
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """The app is called through WSGI, not Django's test client, so do what that client
    does: keep Django from closing the database connection at the end of each request
    (on PostgreSQL that would end the test's transaction)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def token(company):
    module = Module.objects.create(company=company, code="rmm", name="RMM")
    BillingType.objects.create(module=module, code="devices", name="Devices")
    Organization.objects.create(company=company, module=module, external_id="1", name="Org 1")
    make_service(make_contract(make_account(company)))
    user = make_user(company, "fuzz@acme.test")
    return api_token_create(user=user, name="fuzz")[1]


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_generated_request_gets_a_5xx_or_an_undocumented_answer(db, case, token):
    # Not checked: that every schema-valid request is accepted. The schema says what is
    # well-formed; the services then refuse what breaks a business rule (an empty name, an
    # unknown module) with a documented 422, which is right.
    case.call_and_validate(
        headers={"Authorization": f"Bearer {token}"},
        excluded_checks=[schemathesis.checks.positive_data_acceptance],
    )
