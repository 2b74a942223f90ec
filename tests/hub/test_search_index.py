"""The organization search on its indexes (trigram on PostgreSQL, a trigram full-text
index kept by triggers on SQLite): what it finds is what a case-insensitive "contains"
on the name or the id finds, after organizations are added, renamed and deleted, for
searches too short for the index and ones matching too many organizations for it."""

import pytest
from django.db import connection

from icb.hub import selectors
from icb.hub.models import Organization
from tests.factories import make_company, make_module, make_org

pytestmark = pytest.mark.django_db


def found(module, search: str) -> list[str]:
    orgs, _cursor = selectors.organization_search(module=module, search=search, limit=200)
    return [o.external_id for o in orgs]


@pytest.fixture
def rmm(company):
    return make_module(company, "rmm", "RMM")


def test_finds_by_any_part_of_the_name_or_id_in_any_case(rmm):
    make_org(rmm, "R-7731", "Harbor Dental – Boston")
    make_org(rmm, "R-7732", 'The "Quoted" Firm')
    make_org(rmm, "R-8000", "Cedar Law")
    assert found(rmm, "DENTAL – bos") == ["R-7731"]
    assert found(rmm, "r-773") == ["R-7731", "R-7732"]
    assert found(rmm, "r-7732") == ["R-7732"]  # an exact id
    assert found(rmm, '"quoted"') == ["R-7732"]  # quotes are text, not query syntax
    assert found(rmm, "La") == ["R-8000"]  # shorter than a trigram
    assert found(rmm, "Dental  Boston") == []  # the text as a whole, not its words


def test_follows_new_renamed_and_deleted_organizations(rmm, company):
    org = make_org(rmm, "R-1", "Northwind Traders")
    assert found(rmm, "northwind") == ["R-1"]
    Organization.objects.filter(pk=org.pk).update(name="Southwind Traders")
    assert found(rmm, "northwind") == []
    assert found(rmm, "southwind") == ["R-1"]
    Organization.objects.filter(pk=org.pk).update(external_id="R-99")
    assert found(rmm, "R-99") == ["R-99"] and found(rmm, "R-1") == []
    org.delete()
    assert found(rmm, "southwind") == []
    # the directory refresh's upsert: a row written again with the same text stays found
    make_org(rmm, "R-2", "Contoso")
    Organization.objects.filter(external_id="R-2").update(status="inactive")
    assert found(rmm, "contoso") == ["R-2"]


def test_another_module_or_company_is_not_found(rmm, company):
    backup = make_module(company, "backup", "Backup")
    make_org(backup, "B-1", "Fabrikam")
    make_org(make_module(make_company("Rival MSP"), "rmm", "RMM"), "X-1", "Fabrikam")
    assert found(rmm, "fabrikam") == []
    assert found(backup, "fabrikam") == ["B-1"]


def test_a_search_matching_more_than_the_index_lists_reads_in_name_order(rmm, monkeypatch):
    monkeypatch.setattr(selectors, "_INDEXED_SEARCH_MATCHES", 5)
    for n in range(8):
        make_org(rmm, f"R-{n}", f"Common Name {n}")
    make_org(rmm, "R-9", "Other")
    assert found(rmm, "common name") == [f"R-{n}" for n in range(8)]
    assert found(rmm, "common name 7") == ["R-7"]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite index")
def test_the_sqlite_index_and_its_triggers_are_there():
    """Django rebuilds a SQLite table to alter a column, which drops its triggers: a
    migration doing so to hub_organization must recreate them (see hub migration 0006)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s",
            ["hub_organization"],
        )
        triggers = sorted(row[0] for row in cursor.fetchall())
    assert triggers == [
        "hub_organization_search_delete",
        "hub_organization_search_insert",
        "hub_organization_search_update",
    ]


@pytest.mark.parametrize(
    "search", ['"""', '"a"b', "***", "NEAR(x y)", "^abc", "a'b c", "OR AND NOT", "\x01\x02\x03"]
)
def test_query_syntax_in_a_search_is_text(rmm, search):
    make_org(rmm, "R-1", f"Odd {search} Name")
    make_org(rmm, "R-2", "Plain")
    assert found(rmm, search) == ["R-1"]
