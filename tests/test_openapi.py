"""The OpenAPI document (/api/v1/openapi.json) says what the API answers: one schema per
name, and every read route's answer matches the schema it publishes."""

import datetime
import json
import re
from decimal import Decimal

import pytest
from django.test import Client
from ninja.openapi.schema import OpenAPISchema

from icb.api import api
from icb.billing_sync.models import HeldChange, SyncPreview, SyncRun, SyncRunItem
from icb.contracts.models import ServiceUnitChange
from icb.hub.models import BillingType, Module, Organization
from icb.invoicing.models import Invoice, InvoiceContract, InvoiceLine, InvoiceRun
from icb.notify.models import WebhookEndpoint
from tests.factories import make_account, make_contract, make_mapping, make_service


class _RecordingSchema(OpenAPISchema):
    """Ninja keeps the last of two schemas given the same name: record each such clash."""

    def __init__(self, *args, **kwargs):
        self.clashes = {}
        super().__init__(*args, **kwargs)

    def add_schema_definitions(self, definitions: dict) -> None:
        for name, schema in definitions.items():
            if name in self.schemas and self.schemas[name] != schema:
                self.clashes.setdefault(name, [self.schemas[name]]).append(schema)
        super().add_schema_definitions(definitions)


def test_no_two_schemas_share_a_name():
    document = _RecordingSchema(api, "/api/v1/")
    assert list(document.clashes) == []


def _problems(value, schema, components, where="") -> list[str]:
    """Where `value` does not match the JSON schema (the subset ninja publishes)."""
    if "$ref" in schema:
        schema = components[schema["$ref"].rpartition("/")[2]]
    if "anyOf" in schema:
        if any(not _problems(value, option, components, where) for option in schema["anyOf"]):
            return []
        return [f"{where or '.'}: {value!r} matches none of {schema['anyOf']}"]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        if not isinstance(value, dict):
            return [f"{where or '.'}: not an object"]
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties", not properties)
        found = [f"{where}.{k}: missing" for k in schema.get("required", []) if k not in value]
        for key, item in value.items():
            if key in properties:
                found += _problems(item, properties[key], components, f"{where}.{key}")
            elif isinstance(extra, dict):
                found += _problems(item, extra, components, f"{where}.{key}")
            elif not extra:
                found.append(f"{where}.{key}: not in the schema")
        return found
    if kind == "array":
        if not isinstance(value, list):
            return [f"{where or '.'}: not an array"]
        found = []
        for i, item in enumerate(value):
            found += _problems(item, schema.get("items", {}), components, f"{where}[{i}]")
        return found
    checks = {
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "null": lambda v: v is None,
    }
    if kind in checks and not checks[kind](value):
        return [f"{where or '.'}: {value!r} is not {kind}"]
    if kind == "string" and "pattern" in schema and not re.search(schema["pattern"], value):
        return [f"{where or '.'}: {value!r} does not match {schema['pattern']}"]
    return []


@pytest.fixture
def world(company, admin_user):
    """One of everything a read route lists, made through the API where it can be."""
    account = make_account(company, "Harbor Dental", code="HARBOR")
    contract = make_contract(account)
    service = make_service(contract)
    module = Module.objects.create(company=company, code="rmm", name="RMM")
    BillingType.objects.create(module=module, code="workstations", name="Workstations")
    parent = Organization.objects.create(
        company=company, module=module, external_id="1", name="Harbor"
    )
    Organization.objects.create(
        company=company, module=module, external_id="2", name="Harbor West", parent_external_id="1"
    )
    make_mapping(account, parent, admin_user)
    run = SyncRun.objects.create(company=company, trigger="manual", user=admin_user)
    SyncRunItem.objects.create(
        run=run, company=company, service=service, status="error", message="Hub refused."
    )
    # A sync's change with its breakdown: the parent, its site, one gone from the directory.
    ServiceUnitChange.objects.create(
        company=company,
        service=service,
        old_units=service.units,
        new_units="12.50",
        source="sync",
        sync_run_id=run.pk,
        detail={
            "module": "rmm",
            "billing_type": "workstations",
            "quantities": {"1": "10", "2": "2.5", "gone": "0"},
            "measured_at": {"1": "2026-01-05T04:00:00+00:00", "2": "2026-01-05T03:41:00+00:00"},
        },
    )
    WebhookEndpoint.objects.create(
        company=company,
        url="https://example.com/hook",
        event_types=["sync_run.finished"],
        last_success_at=run.started_at,
    )
    # A held change with its breakdown (pending: the list shows the pending ones).
    held = HeldChange.objects.create(
        company=company,
        service=service,
        current_units="12.50",
        proposed_units="0",
        rule="drop_to_zero",
        sync_run_id=run.pk,
        detail={
            "module": "rmm",
            "billing_type": "workstations",
            "quantities": {"1": "0"},
            "measured_at": {"1": "2026-01-06T04:00:00+00:00"},
        },
    )
    # A finished company-wide preview with a row.
    preview = SyncPreview.objects.create(
        company=company,
        status="done",
        services_done=1,
        services_total=1,
        rows=[
            {
                "service_id": service.pk,
                "service": service.name,
                "contract_id": contract.pk,
                "account_id": account.pk,
                "account": account.name,
                "module": "rmm",
                "current_units": "12.50",
                "new_units": "0.00",
                "decision": "held",
                "rule": "drop_to_zero",
                "message": "",
                "monthly_impact": "-562.50",
                "currency": "USD",
            }
        ],
    )
    invoice_run, invoice = _invoice(company, account, contract, service)
    return {
        "account_id": account.pk,
        "contract_id": contract.pk,
        "service_id": service.pk,
        "code": module.code,
        "run_id": run.pk,
        "held_id": held.pk,
        "preview_id": preview.pk,
        "invoice_run_id": invoice_run.pk,
        "invoice_id": invoice.pk,
    }


def _invoice(company, account, contract, service):
    """A run and a draft of it with one line, for the invoicing routes."""
    run = InvoiceRun.objects.create(
        company=company,
        period_start=datetime.date(2026, 10, 1),
        period_end=datetime.date(2026, 10, 31),
        status="done",
    )
    invoice = Invoice.objects.create(
        company=company,
        account=account,
        run=run,
        currency="USD",
        period_start=run.period_start,
        period_end=run.period_end,
        subtotal=Decimal("450.00"),
        total=Decimal("450.00"),
    )
    InvoiceContract.objects.create(
        company=company,
        invoice=invoice,
        contract=contract,
        period_start=run.period_start,
        period_end=run.period_end,
    )
    InvoiceLine.objects.create(
        company=company,
        invoice=invoice,
        kind="recurring",
        description=service.name,
        quantity=Decimal("10"),
        unit_price=Decimal("45.00"),
        amount=Decimal("450.00"),
        tax=Decimal("0"),
        period_start=run.period_start,
        period_end=run.period_end,
        service=service,
        contract=contract,
        unit_change_ids=[1],
    )
    return run, invoice


QUERIES = {"/mappings/organizations": {"module": "rmm"}}


@pytest.mark.django_db
def test_every_read_route_answers_what_it_publishes(admin_user, world):
    client = Client()
    client.force_login(admin_user)
    writes = [
        ("patch", f"/api/v1/services/{world['service_id']}", {"units": "12"}),
        (
            "post",
            "/api/v1/mappings/changes",
            {"changes": [{"account_id": world["account_id"], "module": "rmm", "add": ["2"]}]},
        ),
    ]
    for method, url, body in writes:
        response = getattr(client, method)(url, json.dumps(body), content_type="application/json")
        assert response.status_code == 200, response.content
    document = client.get("/api/v1/openapi.json").json()
    components = document["components"]["schemas"]
    checked = 0
    for path, operations in document["paths"].items():
        if "get" not in operations or path.endswith(("/openapi.json", "/docs")):
            continue
        url = re.sub(r"{(\w+)}", lambda m: str(world[m.group(1)]), path)
        response = client.get(url, QUERIES.get(path.removeprefix("/api/v1"), {}))
        assert response.status_code == 200, (path, response.content[:200])
        published = operations["get"]["responses"]["200"].get("content")
        if published is None:
            continue  # publishes no schema (the health check)
        answer = response.json()
        schema = published["application/json"]["schema"]
        assert _problems(answer, schema, components) == [], path
        assert answer, f"{path}: give the world something for this route to show"
        checked += 1
    assert checked >= 15


@pytest.mark.django_db
def test_error_answers_are_documented_and_match_the_published_error_schema(admin_user, world):
    client = Client()
    client.force_login(admin_user)
    document = client.get("/api/v1/openapi.json").json()
    components = document["components"]["schemas"]
    service = f"/api/v1/services/{world['service_id']}"
    cases = [
        ("get", "/api/v1/services/{service_id}", "/api/v1/services/999999", None, 404),
        ("patch", "/api/v1/services/{service_id}", service, {"units": "1E1"}, 422),
        ("patch", "/api/v1/services/{service_id}", service, "not json", 400),
        ("post", "/api/v1/hub/refresh", "/api/v1/hub/refresh", None, 409),
        ("get", "/api/v1/accounts", "/api/v1/accounts?active=maybe", None, 422),
    ]
    for method, path, url, body, status in cases:
        if method == "get":
            response = client.get(url)
        else:
            data = body if isinstance(body, str) else json.dumps(body or {})
            response = getattr(client, method)(url, data, content_type="application/json")
        assert response.status_code == status, (url, response.content[:200])
        published = document["paths"][path][method]["responses"].get(str(status))
        assert published, f"{method.upper()} {path} does not document {status}"
        schema = published["content"]["application/json"]["schema"]
        assert _problems(response.json(), schema, components) == [], (url, response.json())
    anonymous = Client().get("/api/v1/accounts")
    assert anonymous.status_code == 401
    published = document["paths"]["/api/v1/accounts"]["get"]["responses"]["401"]
    schema = published["content"]["application/json"]["schema"]
    assert _problems(anonymous.json(), schema, components) == []
