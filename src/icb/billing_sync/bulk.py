"""The bulk statements of a batch write (stage 3), with the vendor SQL: the services' new
sync state, their changed units, and the rows inserted (COPY on PostgreSQL, multi-row
INSERTs elsewhere). Rows arrive as database values (decimals and JSON as text, times
adapted by the backend): Django's bulk_update and bulk_create would spend most of their
time preparing each value through the field machinery. Only quoted names from the
models' metadata and placeholders are formatted into SQL; every value is a parameter
(or, with COPY, a field of the data stream)."""

from __future__ import annotations

import enum
import json
import sqlite3
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, NamedTuple, cast

from django.db import connection
from django.db.models import Field, Model, QuerySet

from icb.contracts.models import Service

INSERT_ROWS = 500  # rows per INSERT statement (SQLite; PostgreSQL uses COPY)
ID_CHUNK = 900  # ids per IN (...) list (SQLite's limit on parameters, with room)


class Keep(enum.Enum):
    KEEP = "keep"


# A sync-state column that an outcome leaves as it is (last_sync_at after a failure).
KEEP = Keep.KEEP


class SyncState(NamedTuple):
    """The sync-state columns a batch write sets on a service (and its claim is released
    with them). A tuple, hashable: services with the same state share one UPDATE."""

    icb_status: str
    icb_message: str
    last_sync_at: datetime | Literal[Keep.KEEP]
    next_sync_at: datetime
    sync_retry_count: int

    def columns(self) -> dict[str, Any]:
        """The columns to set (those not KEEP), by field name."""
        return {
            name: value for name, value in zip(self._fields, self, strict=True) if value is not KEEP
        }


def insert_rows(model: type[Model], field_names: list[str], rows: list[tuple]) -> None:
    """INSERT many rows: COPY on PostgreSQL; elsewhere INSERT_ROWS per statement (one
    multi-row VALUES: far fewer round trips than executemany)."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        _copy_postgresql(model, field_names, rows)
        return
    quote = connection.ops.quote_name
    columns = ", ".join(_column(name, model) for name in field_names)
    row = "(" + ", ".join(["%s"] * len(field_names)) + ")"
    limit = connection.features.max_query_params  # None: no limit (PostgreSQL)
    per_statement = min(INSERT_ROWS, limit // len(field_names)) if limit else INSERT_ROWS
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            sql = (
                f"INSERT INTO {quote(model._meta.db_table)} ({columns}) "  # noqa: S608
                f"VALUES {', '.join([row] * len(chunk))}"
            )
            cursor.execute(sql, [value for values in chunk for value in values])


def _copy_postgresql(model: type[Model], field_names: list[str], rows: list[tuple]) -> None:
    """COPY … FROM STDIN: the rows stream as text in one statement whose length does not
    grow with them. A multi-row VALUES of 500 rows × 9 columns had its thousands of
    placeholders rewritten by the driver in Python (a fifth of an all-change night);
    COPY took 60,000 history rows in 0.5 s against 3.4 s, and unnest() over one array
    per column in 2.0 s (the driver quotes the arrays in Python)."""
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(_column(name, model) for name in field_names)
    with connection.cursor() as cursor, connection.wrap_database_errors:
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def store_states(
    claimed: QuerySet[Service],
    states: dict[int, SyncState],
    skipped: list[int],
    *,
    unit_changes: dict[int, Decimal],
    at: Any,
) -> None:
    """Write the new sync state (and release the claim) and the units of the locked
    services in a few statements. Services whose new state is the same share one UPDATE;
    the largest such set (nearly all of a batch: same status, times and message) is
    selected as the batch (`claimed`) rather than by its ids. Changed units are joined
    from one array or JSON value, with their state, in one statement per batch (Django's
    bulk_update builds an expression per row and field); before SQLite 3.33, one CASE
    per chunk. `skipped`: locked services that are not this write's (claimed after it
    planned); `at`: the time of the change, as a database value."""
    written: set[int] = set()
    joined = units_joined()
    if unit_changes and joined:
        # Units, state and release in one statement: each changed row written once (on
        # PostgreSQL one new row version per service).
        joined(unit_changes, states, at)
        written = set(unit_changes)
    by_state: dict[SyncState, list[int]] = defaultdict(list)
    for service_id, state in states.items():
        by_state[state].append(service_id)
    largest = max(by_state, key=lambda state: len(by_state[state]), default=None)
    for state, ids in by_state.items():
        values = state.columns()
        if written.issuperset(ids):  # all changed units, written above (most of a night)
            continue
        if state == largest:
            # The rows are locked, so the claim holders are exactly the locked services
            # (less those written above, which no longer hold it).
            others = [
                i for other, other_ids in by_state.items() if other != state for i in other_ids
            ] + skipped
            claimed.exclude(pk__in=others).update(
                sync_claim_token="", sync_claimed_until=None, **values
            )
            continue
        ids = [i for i in ids if i not in written]
        for start in range(0, len(ids), ID_CHUNK):
            Service.objects.filter(pk__in=ids[start : start + ID_CHUNK]).update(
                sync_claim_token="", sync_claimed_until=None, **values
            )
    if unit_changes and not joined:
        _units_sqlite(sorted(unit_changes.items()), at)


def units_joined() -> Callable[[dict[int, Decimal], dict[int, SyncState], Any], None] | None:
    """The statement that writes changed units with their state, where the database has
    one: UPDATE … FROM (SQLite from 3.33)."""
    if connection.vendor == "postgresql":
        return _units_and_state_postgresql
    if connection.vendor == "sqlite" and sqlite3.sqlite_version_info >= (3, 33):
        return _units_and_state_sqlite
    return None


def _column(name: str, model: type[Model] = Service) -> str:
    """The quoted column of a model's field."""
    return connection.ops.quote_name(cast(Field, model._meta.get_field(name)).column)


def _units_and_state_postgresql(
    unit_changes: dict[int, Decimal], states: dict[int, SyncState], at: Any
) -> None:
    """Changed units joined from two arrays (PostgreSQL would evaluate a long CASE per
    row; a VALUES list grows the statement with the rows), with the services' new sync
    state and the claim released."""
    table = connection.ops.quote_name(Service._meta.db_table)
    id_type = Service._meta.pk.db_type(connection)
    units_type = cast(Field, Service._meta.get_field("units")).db_type(connection)
    by_state: dict[SyncState, list[tuple[int, Decimal]]] = defaultdict(list)
    for service_id, new_units in sorted(unit_changes.items()):
        by_state[states[service_id]].append((service_id, new_units))  # all the same: OK
    with connection.cursor() as cursor:
        for state, changed in by_state.items():
            values = state.columns()
            assignments = "".join(f", {_column(f)} = %s" for f in values)
            cursor.execute(
                f"UPDATE {table} SET {_column('units')} = v.units, "  # noqa: S608
                f"{_column('updated_at')} = %s, {_column('sync_claim_token')} = '', "
                f"{_column('sync_claimed_until')} = NULL{assignments} "
                f"FROM unnest(%s::{id_type}[], %s::{units_type}[]) AS v(id, units) "
                f"WHERE {table}.{_column('id')} = v.id",
                [
                    at,
                    *values.values(),
                    [service_id for service_id, _ in changed],
                    [str(new_units) for _, new_units in changed],
                ],
            )


def _units_and_state_sqlite(
    unit_changes: dict[int, Decimal], states: dict[int, SyncState], at: Any
) -> None:
    """SQLite 3.33+: changed units joined from one JSON object {id: units} (json_each,
    one parameter however many rows; SQLite looks each service up by its id), with the
    services' new sync state and the claim released. Against a CASE per chunk of
    services and a second UPDATE for their state: half the time of the CASE alone, and
    each row written once."""
    table = connection.ops.quote_name(Service._meta.db_table)
    units_type = cast(Field, Service._meta.get_field("units")).db_type(connection)
    by_state: dict[SyncState, dict[str, str]] = defaultdict(dict)
    for service_id, new_units in unit_changes.items():
        by_state[states[service_id]][str(service_id)] = str(new_units)  # all the same: OK
    with connection.cursor() as cursor:
        for state, changed in by_state.items():
            values = state.columns()
            assignments = "".join(f", {_column(f)} = %s" for f in values)
            cursor.execute(
                f"UPDATE {table} SET {_column('units')} = CAST(v.value AS {units_type}), "  # noqa: S608
                f"{_column('updated_at')} = %s, {_column('sync_claim_token')} = '', "
                f"{_column('sync_claimed_until')} = NULL{assignments} "
                f"FROM json_each(%s) AS v WHERE {table}.{_column('id')} = v.key",
                [
                    at,
                    *(
                        cast(Field, Service._meta.get_field(f)).get_db_prep_save(v, connection)
                        for f, v in values.items()
                    ),
                    json.dumps(changed),
                ],
            )


def _units_sqlite(changed: list[tuple[int, Decimal]], at: Any) -> None:
    """Changed units with one CASE per chunk (before SQLite 3.33, which Django still
    supports: no UPDATE … FROM)."""
    table = connection.ops.quote_name(Service._meta.db_table)
    pk = _column("id")
    with connection.cursor() as cursor:
        for start in range(0, len(changed), ID_CHUNK // 3):
            chunk = changed[start : start + ID_CHUNK // 3]
            cases = " ".join(["WHEN %s THEN CAST(%s AS DECIMAL(12, 2))"] * len(chunk))
            params: list = []
            for service_id, new_units in chunk:
                params += [service_id, str(new_units)]
            params.append(at)
            params += [service_id for service_id, _ in chunk]
            cursor.execute(
                f"UPDATE {table} SET {_column('units')} = CASE {pk} {cases} END, "  # noqa: S608
                f"{_column('updated_at')} = %s WHERE {pk} IN "
                f"({', '.join(['%s'] * len(chunk))})",
                params,
            )
