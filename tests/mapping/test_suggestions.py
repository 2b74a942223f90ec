"""Mapping suggestions in the database and through the API: the search, the lists, and
accepting one or all above a confidence (idempotent, never another company's)."""

from decimal import Decimal

import pytest

from icb.hub.models import BillingType
from icb.mapping import suggestions
from icb.mapping.models import Mapping, MappingChange, MappingSuggestion, UnmappedUsage
from icb.tenancy.models import Level
from tests.clients import Api, bearer
from tests.factories import (
    make_account,
    make_company,
    make_mapping,
    make_module,
    make_org,
    make_role,
    make_user,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(company):
    rmm = make_module(company, "rmm", "RMM")
    backup = make_module(company, "backup", "Backup")
    ws = BillingType.objects.create(module=rmm, code="workstations", name="Workstations")
    harbor = make_account(company, "Harbor Dental Group", "HDG")
    cedar = make_account(company, "Cedar Law Partners", "CLP")
    make_account(company, "Pinecrest Logistics", "PINE", is_active=False)
    parent = make_org(rmm, "R-1", "Cedar Law Partners")
    make_mapping(cedar, parent)
    orgs = {
        "harbor": make_org(rmm, "R-2", "HARBOR DENTAL GROUP, INC."),
        "site": make_org(rmm, "R-3", "Cedar Law \u2013 Boston Office", parent="R-1"),
        "stranger": make_org(rmm, "R-4", "Zephyr Analytics"),
        "inactive-account": make_org(rmm, "R-5", "Pinecrest Logistics"),
        "b-harbor": make_org(backup, "B-1", "Harbor Dental"),
        "cancelled": make_org(rmm, "R-6", "Harbor Dental Group", status="cancelled"),
    }
    for org in (orgs["harbor"], orgs["site"], orgs["stranger"]):
        UnmappedUsage.objects.create(
            company=company, module=rmm, organization=org, billing_type=ws, quantity=Decimal(3)
        )
    return {"harbor": harbor, "cedar": cedar, "orgs": orgs}


def _found(company) -> dict:
    return {
        s.organization.external_id: (s.account.name, s.confidence, s.reason)
        for s in MappingSuggestion.objects.filter(company=company).select_related(
            "organization", "account"
        )
    }


def test_the_search_suggests_by_name_and_by_parent(company, world):
    progress = []
    stored = suggestions.find_suggestions(
        company=company, progress=lambda done, total: progress.append((done, total))
    )
    found = _found(company)
    assert stored == len(found)
    assert found["R-2"][:2] == ("Harbor Dental Group", Decimal("0.990"))
    assert found["R-3"][0] == "Cedar Law Partners" and "parent" in found["R-3"][2]
    assert "R-4" not in found  # nobody like it
    assert "R-5" not in found  # its account is inactive
    assert "R-6" not in found  # cancelled
    assert "R-1" not in found  # mapped
    assert progress[-1] == (5, 5)
    # a new search replaces the old suggestions
    Mapping.objects.create(
        company=company,
        account=world["harbor"],
        module=world["orgs"]["harbor"].module,
        organization=world["orgs"]["harbor"],
    )
    suggestions.find_suggestions(company=company)
    assert "R-2" not in _found(company)


def test_another_companys_accounts_are_never_suggested(company, world):
    other = make_company("Rival MSP")
    make_account(other, "Zephyr Analytics", "ZEP")
    suggestions.find_suggestions(company=company)
    suggestions.find_suggestions(company=other)
    assert "R-4" not in _found(company)
    assert not MappingSuggestion.objects.filter(company=other).exists()


@pytest.fixture
def api(client, admin_user):
    return Api(bearer(client, admin_user))


def test_the_lists_answer_the_documented_shapes(company, world, api):
    suggestions.find_suggestions(company=company)
    page = api.get("/unmapped-organizations").json()
    assert page["count"] == 3
    harbor = next(i for i in page["items"] if i["organization_id"] == "R-2")
    assert harbor["module"] == "rmm" and harbor["quantities"] == {"workstations": "3"}
    assert harbor["estimated_monthly_revenue"] is None  # no ICB service prices it
    assert harbor["new"] is False
    assert harbor["suggestion"]["account_id"] == world["harbor"].pk
    assert harbor["suggestion"]["confidence"] == 0.99

    listed = api.get("/mapping-suggestions").json()
    first = listed["items"][0]
    assert set(first) >= {"module", "organization_id", "account_id", "confidence", "reason"}
    confidences = [i["confidence"] for i in listed["items"]]
    assert confidences == sorted(confidences, reverse=True) and listed["count"] >= 2
    sure = api.get("/mapping-suggestions?min_confidence=0.98").json()
    assert [i["organization_id"] for i in sure["items"]] == ["R-2"]
    assert api.get("/mapping-suggestions?min_confidence=2").status_code == 422
    assert api.get("/unmapped-organizations?module=backup").json()["count"] == 0
    for path in ("/unmapped-organizations", "/mapping-suggestions"):
        response = api.get(f"{path}?module=nope")
        assert response.status_code == 422 and list(response.json()["errors"]) == ["module"]


def _pick(org, account) -> dict:
    return {"module": org.module.code, "organization_id": org.external_id, "account_id": account.pk}


def test_accept_one_maps_it_once_and_again_is_a_no_op(company, world, api, admin_user):
    suggestions.find_suggestions(company=company)
    org, harbor = world["orgs"]["harbor"], world["harbor"]
    body = {"suggestions": [_pick(org, harbor)]}
    response = api.post("/mapping-suggestions/accept", body)
    assert response.status_code == 200 and response.json() == {"accepted": 1}
    mapping = Mapping.objects.get(organization=org)
    assert mapping.account == harbor and mapping.created_by == admin_user
    assert api.post("/mapping-suggestions/accept", body).status_code == 200
    assert Mapping.objects.filter(organization=org).count() == 1
    assert MappingChange.objects.filter(organization_external_id="R-2").count() == 1
    # it left the lists
    assert "R-2" not in [
        i["organization_id"] for i in api.get("/unmapped-organizations").json()["items"]
    ]


def test_accepting_what_someone_mapped_elsewhere_meanwhile_is_a_conflict(company, world, api):
    suggestions.find_suggestions(company=company)
    org = world["orgs"]["harbor"]
    make_mapping(world["cedar"], org)  # by hand, after the search
    response = api.post(
        "/mapping-suggestions/accept", {"suggestions": [_pick(org, world["harbor"])]}
    )
    assert response.status_code == 409 and response.json()["code"] == "already_mapped"
    assert Mapping.objects.get(organization=org).account == world["cedar"]


def test_a_removed_module_gets_no_suggestions(company, world):
    type(world["orgs"]["b-harbor"].module).objects.filter(code="backup").update(
        removed_at="2026-01-01T00:00:00Z"
    )
    suggestions.find_suggestions(company=company)
    assert "B-1" not in _found(company)


def test_accept_refuses_what_was_not_suggested(company, world, api):
    suggestions.find_suggestions(company=company)
    org = world["orgs"]["harbor"]
    other = make_company("Rival MSP")
    theirs = make_account(other, "Harbor Dental Group", "HDG")
    their_org = make_org(make_module(other, "rmm", "RMM"), "X-1", "Harbor Dental Group Inc")
    suggestions.find_suggestions(company=other)
    for pick in (
        _pick(org, world["cedar"]),  # another account than suggested
        _pick(org, theirs),  # another company's account
        _pick(their_org, world["harbor"]),  # another company's organization
        {"module": "rmm", "organization_id": "R-4", "account_id": world["harbor"].pk},
    ):
        response = api.post("/mapping-suggestions/accept", {"suggestions": [pick]})
        assert response.status_code == 422, pick
        assert list(response.json()["errors"]) == ["suggestions.0"]
    assert not Mapping.objects.filter(account__in=[world["harbor"], theirs]).exists()
    for body in ({}, {"suggestions": [], "min_confidence": 0.5}, {"min_confidence": "1.5"}):
        assert api.post("/mapping-suggestions/accept", body).status_code == 422, body


def test_accept_all_above_a_confidence(company, world, api):
    suggestions.find_suggestions(company=company)
    found = _found(company)
    response = api.post("/mapping-suggestions/accept", {"min_confidence": 0.98})
    sure = sorted(k for k, v in found.items() if v[1] >= Decimal("0.98"))
    assert response.json() == {"accepted": len(sure)} and sure
    assert (
        sorted(
            Mapping.objects.exclude(organization__external_id="R-1").values_list(
                "organization__external_id", flat=True
            )
        )
        == sure
    )
    again = api.post("/mapping-suggestions/accept", {"min_confidence": 0.98})
    assert again.json() == {"accepted": 0}  # what is mapped is no longer suggested


def test_accept_needs_hub_settings_modify_too(company, world, client):
    suggestions.find_suggestions(company=company)
    levels = {"billing_review": Level.MODIFY, "hub_settings": Level.VIEW}
    reviewer = make_user(company, "rev@acme.test", make_role(company, "Reviewer", **levels))
    api = Api(bearer(client, reviewer))
    assert api.get("/mapping-suggestions").status_code == 200
    body = {"suggestions": [_pick(world["orgs"]["harbor"], world["harbor"])]}
    response = api.post("/mapping-suggestions/accept", body)
    assert response.status_code == 403 and "Hub Settings" in response.json()["detail"]
    assert not Mapping.objects.filter(organization=world["orgs"]["harbor"]).exists()
