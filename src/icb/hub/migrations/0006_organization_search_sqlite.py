"""On SQLite, a trigram full-text index (FTS5) of the organizations' names and ids, so the
organization search (a case-insensitive "contains") finds a rare name or an id among
100,000 organizations a module without reading them all; hub.selectors uses it for a
search of 3 characters or more. PostgreSQL has its trigram indexes (0002).

The index holds no copy of the text (external content: the organization table) and
triggers keep it in step with every insert, update and delete. A later migration that
makes SQLite rebuild hub_organization (Django does so to alter a column) drops these
triggers with the old table: recreate them after it (tests/hub/test_search_index.py
fails until then)."""

from django.db import migrations

TABLE = "hub_organization"
INDEX = "hub_organization_search"
ADD = f"INSERT INTO {INDEX}(rowid, name, external_id) VALUES (new.id, new.name, new.external_id);"
REMOVE = (
    f"INSERT INTO {INDEX}({INDEX}, rowid, name, external_id) "
    "VALUES ('delete', old.id, old.name, old.external_id);"
)
CREATE = [
    f"CREATE VIRTUAL TABLE {INDEX} USING fts5(name, external_id, content='{TABLE}', "
    "content_rowid='id', tokenize='trigram')",
    f"CREATE TRIGGER {INDEX}_insert AFTER INSERT ON {TABLE} BEGIN {ADD} END",
    f"CREATE TRIGGER {INDEX}_delete AFTER DELETE ON {TABLE} BEGIN {REMOVE} END",
    # The directory refresh rewrites every organization; only a new name or id re-indexes.
    f"CREATE TRIGGER {INDEX}_update AFTER UPDATE OF name, external_id ON {TABLE} "
    "WHEN old.name IS NOT new.name OR old.external_id IS NOT new.external_id "
    f"BEGIN {REMOVE} {ADD} END",
    f"INSERT INTO {INDEX}({INDEX}) VALUES ('rebuild')",
]
DROP = [
    f"DROP TRIGGER IF EXISTS {INDEX}_insert",
    f"DROP TRIGGER IF EXISTS {INDEX}_delete",
    f"DROP TRIGGER IF EXISTS {INDEX}_update",
    f"DROP TABLE IF EXISTS {INDEX}",
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in CREATE:
            schema_editor.execute(statement)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("hub", "0005_module_revenue_account_code")]
    operations = [migrations.RunPython(create, drop)]
