"""Publishing audited tables into reporting against a real PostgreSQL: merges by key, rolls back, stays atomic."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg2
import pytest
from psycopg2 import sql

from media_platform.tasks import publish

TABLES = ["titles", "provider_deliveries"]
KEYS = {"titles": ["asset_key"], "provider_deliveries": ["batch_id"], "missing_table": ["id"]}


def _execute(conn: psycopg2.extensions.connection, statement: str, *params: object) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(statement, params or None)
        return cur.fetchall() if cur.description else []


def _rows(conn: psycopg2.extensions.connection, schema: str, table: str) -> list[tuple]:
    query = sql.SQL("select * from {} order by 1").format(sql.Identifier(schema, table))
    with conn.cursor() as cur:
        cur.execute(query)
        return cur.fetchall()


def _tables(conn: psycopg2.extensions.connection, schema: str) -> list[str]:
    found = _execute(
        conn, "select table_name from information_schema.tables where table_schema = %s order by 1", schema
    )
    return [name for (name,) in found]


def _schema_exists(conn: psycopg2.extensions.connection, schema: str) -> bool:
    return bool(_execute(conn, "select 1 from information_schema.schemata where schema_name = %s", schema))


def _versions(conn: psycopg2.extensions.connection, schema: str) -> dict[str, tuple[str, str]]:
    """xmin and xmax of every row of the titles table by key: both stay the same while a row is not written."""
    found = _execute(conn, f"select asset_key, xmin::text, xmax::text from {schema}.titles")
    return {key: (xmin, xmax) for key, xmin, xmax in found}


def _counts(
    inserted: int = 0, updated: int = 0, deleted: int = 0, unchanged: int = 0, quarantined: int = 0
) -> dict[str, int]:
    return {
        "inserted": inserted,
        "updated": updated,
        "deleted": deleted,
        "unchanged": unchanged,
        "quarantined": quarantined,
    }


def _publish(dsn: str, source: str, target: str, tables: list[str] | None = None, **kwargs: Any) -> dict:
    return publish.publish_tables(dsn, tables or TABLES, KEYS, source_schema=source, target_schema=target, **kwargs)


@pytest.fixture()
def source(warehouse: psycopg2.extensions.connection, scratch_schema: str) -> str:
    """An audit-like schema with small `titles` (keyed) and `provider_deliveries` (no constraint) tables."""
    _execute(
        warehouse,
        f"""
        create table {scratch_schema}.titles (
            asset_key text primary key, title text not null, runtime_minutes int default 0,
            updated_at timestamptz
        );
        insert into {scratch_schema}.titles values
            ('acme:1', 'One', 90, '2024-01-01T00:00:00Z'),
            ('acme:2', 'Two', 45, '2024-01-01T00:00:00Z'),
            ('acme:3', 'Three', null, null);
        create table {scratch_schema}.provider_deliveries (batch_id text, records_read int, records_loaded int);
        insert into {scratch_schema}.provider_deliveries values ('b1', 3, 3), ('b2', 2, 1);
        """,
    )
    return scratch_schema


@pytest.fixture()
def target(warehouse: psycopg2.extensions.connection, scratch_schema: str) -> Iterator[str]:
    """A reporting schema of this test's own (not created: publishing must create it)."""
    name = f"{scratch_schema}_rpt"
    _execute(warehouse, f"drop schema if exists {name} cascade")
    yield name
    _execute(warehouse, f"drop schema if exists {name} cascade")


@pytest.fixture()
def bi_role(warehouse: psycopg2.extensions.connection, scratch_schema: str) -> Iterator[str]:
    """A NOLOGIN role like an operator's BI reader, dropped with whatever it was granted."""
    name = f"{scratch_schema}_bi"[:63]
    _execute(warehouse, f"drop role if exists {name}")
    _execute(warehouse, f"create role {name} nologin")
    yield name
    _execute(warehouse, f"drop owned by {name}")
    _execute(warehouse, f"drop role {name}")


def test_publish_copies_every_table_with_its_definition(
    warehouse: psycopg2.extensions.connection, warehouse_dsn: str, source: str, target: str
) -> None:
    published = _publish(warehouse_dsn, source, target)

    assert published == {"titles": _counts(inserted=3), "provider_deliveries": _counts(inserted=2)}
    assert _tables(warehouse, target) == ["provider_deliveries", "titles"]
    for table in TABLES:
        assert _rows(warehouse, target, table) == _rows(warehouse, source, table)
    keys = _execute(
        warehouse,
        "select table_name, count(*) from information_schema.table_constraints"
        " where table_schema = %s and constraint_type = 'PRIMARY KEY' group by 1 order by 1",
        target,
    )
    assert keys == [("provider_deliveries", 1), ("titles", 1)]  # the key publish merges by, where audit had none


def test_second_publish_inserts_updates_and_deletes_by_key(
    warehouse: psycopg2.extensions.connection, warehouse_dsn: str, source: str, target: str
) -> None:
    _publish(warehouse_dsn, source, target)
    _execute(warehouse, f"delete from {source}.titles where asset_key = 'acme:1'")
    _execute(warehouse, f"update {source}.titles set runtime_minutes = 46 where asset_key = 'acme:2'")
    _execute(warehouse, f"insert into {source}.titles values ('acme:4', 'Four', 30, null), ('acme:5', 'Five', 1, null)")

    published = _publish("postgresql+psycopg2://" + warehouse_dsn.split("://", 1)[1], source, target)

    assert published == {
        "titles": _counts(inserted=2, updated=1, deleted=1, unchanged=1),
        "provider_deliveries": _counts(unchanged=2),
    }
    assert _rows(warehouse, target, "titles") == _rows(warehouse, source, "titles")
    assert _tables(warehouse, target) == ["provider_deliveries", "titles"]


def test_the_table_its_indexes_and_its_grants_survive_a_publish(
    warehouse: psycopg2.extensions.connection, warehouse_dsn: str, source: str, target: str, bi_role: str
) -> None:
    _publish(warehouse_dsn, source, target)
    _execute(warehouse, f"grant usage on schema {target} to {bi_role}")
    _execute(warehouse, f"grant select on {target}.titles to {bi_role}")
    _execute(warehouse, f"create index titles_by_title on {target}.titles (title)")  # an operator's own index
    relation = f"{target}.titles"
    indexes = "select indexrelid::regclass::text, indexrelid from pg_index where indrelid = %s::regclass order by 1"
    oid_before = _execute(warehouse, "select %s::regclass::oid", relation)
    indexes_before = _execute(warehouse, indexes, relation)
    _execute(warehouse, f"update {source}.titles set title = 'Two!' where asset_key = 'acme:2'")
    _execute(warehouse, f"insert into {source}.titles values ('acme:4', 'Four', 30, null)")

    _publish(warehouse_dsn, source, target)

    assert _execute(warehouse, "select has_table_privilege(%s, %s, 'select')", bi_role, relation) == [(True,)]
    assert _execute(warehouse, "select %s::regclass::oid", relation) == oid_before
    assert _execute(warehouse, indexes, relation) == indexes_before
    assert len(indexes_before) == 2
    assert _rows(warehouse, target, "titles") == _rows(warehouse, source, "titles")


def test_only_changed_rows_are_written(
    warehouse: psycopg2.extensions.connection, warehouse_dsn: str, source: str, target: str
) -> None:
    _publish(warehouse_dsn, source, target)
    before = _versions(warehouse, target)
    _execute(warehouse, f"update {source}.titles set runtime_minutes = null where asset_key = 'acme:2'")
    _execute(warehouse, f"update {source}.titles set title = 'One' where asset_key = 'acme:1'")  # the same value

    published = _publish(warehouse_dsn, source, target)

    after = _versions(warehouse, target)
    assert published["titles"] == _counts(updated=1, unchanged=2)
    assert after["acme:1"] == before["acme:1"]
    assert after["acme:3"] == before["acme:3"]
    assert after["acme:2"] != before["acme:2"]
    assert _rows(warehouse, target, "titles") == _rows(warehouse, source, "titles")


def test_an_identical_publish_writes_nothing_however_often_it_runs(
    warehouse: psycopg2.extensions.connection, warehouse_dsn: str, source: str, target: str
) -> None:
    _publish(warehouse_dsn, source, target)
    rows = {table: _rows(warehouse, target, table) for table in TABLES}
    versions = _versions(warehouse, target)

    for _ in range(2):
        published = _publish(warehouse_dsn, source, target)
        assert published == {"titles": _counts(unchanged=3), "provider_deliveries": _counts(unchanged=2)}

    assert _versions(warehouse, target) == versions  # not rewritten, not even locked
    assert {table: _rows(warehouse, target, table) for table in TABLES} == rows


def test_a_column_new_in_audit_is_added_to_reporting(
    warehouse: psycopg2.extensions.connection, warehouse_dsn: str, source: str, target: str, bi_role: str
) -> None:
    _publish(warehouse_dsn, source, target)
    _execute(warehouse, f"grant usage on schema {target} to {bi_role}")
    _execute(warehouse, f"grant select on {target}.titles to {bi_role}")
    _execute(warehouse, f"alter table {source}.titles add column genres text")
    _execute(warehouse, f"update {source}.titles set genres = 'drama' where asset_key = 'acme:1'")

    published = _publish(warehouse_dsn, source, target, ["titles"])

    assert published == {"titles": _counts(updated=1, unchanged=2)}
    assert _rows(warehouse, target, "titles") == _rows(warehouse, source, "titles")
    assert _execute(warehouse, "select has_table_privilege(%s, %s, 'select')", bi_role, f"{target}.titles") == [(True,)]


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ("drop column runtime_minutes", r"no longer has: \['runtime_minutes'\]"),
        ("alter column runtime_minutes type bigint", "runtime_minutes integer -> bigint"),
    ],
)
def test_a_column_audit_dropped_or_retyped_fails_naming_it(
    warehouse: psycopg2.extensions.connection, warehouse_dsn: str, source: str, target: str, change: str, named: str
) -> None:
    _publish(warehouse_dsn, source, target)
    before = {table: _rows(warehouse, target, table) for table in TABLES}
    _execute(warehouse, f"alter table {source}.titles {change}")
    _execute(warehouse, f"insert into {source}.provider_deliveries values ('b3', 1, 1)")

    with pytest.raises(publish.PublishError, match=f"{target}.titles.*{named}"):
        _publish(warehouse_dsn, source, target, ["provider_deliveries", "titles"])

    assert {table: _rows(warehouse, target, table) for table in TABLES} == before


def test_failed_publish_leaves_the_target_exactly_as_it_was(
    warehouse: psycopg2.extensions.connection, warehouse_dsn: str, source: str, target: str
) -> None:
    _publish(warehouse_dsn, source, target)
    before = {table: _rows(warehouse, target, table) for table in TABLES}
    _execute(warehouse, f"insert into {source}.titles values ('acme:4', 'Four', 30, null)")
    _execute(warehouse, f"truncate {source}.provider_deliveries")

    with pytest.raises(psycopg2.errors.UndefinedTable):
        _publish(warehouse_dsn, source, target, [*TABLES, "missing_table"])

    assert {table: _rows(warehouse, target, table) for table in TABLES} == before
    assert _tables(warehouse, target) == ["provider_deliveries", "titles"]


def test_failed_first_publish_does_not_even_create_the_schema(
    warehouse: psycopg2.extensions.connection, warehouse_dsn: str, source: str, target: str
) -> None:
    with pytest.raises(psycopg2.errors.UndefinedTable):
        _publish(warehouse_dsn, source, target, ["titles", "missing_table"])

    assert not _schema_exists(warehouse, target)


def test_a_duplicate_key_in_audit_fails_the_publish(
    warehouse: psycopg2.extensions.connection, warehouse_dsn: str, source: str, target: str
) -> None:
    _publish(warehouse_dsn, source, target)
    before = _rows(warehouse, target, "provider_deliveries")
    _execute(warehouse, f"insert into {source}.provider_deliveries values ('b3', 1, 1), ('b3', 2, 2)")

    with pytest.raises(psycopg2.errors.CardinalityViolation):
        _publish(warehouse_dsn, source, target)

    assert _rows(warehouse, target, "provider_deliveries") == before


def test_duplicate_or_empty_table_list_or_a_table_without_key_is_refused(warehouse_dsn: str) -> None:
    with pytest.raises(ValueError, match="distinct"):
        publish.publish_tables(warehouse_dsn, ["titles", "titles"], KEYS)
    with pytest.raises(ValueError, match="distinct"):
        publish.publish_tables(warehouse_dsn, [], KEYS)
    with pytest.raises(ValueError, match=r"no publish key for \['rights'\]"):
        publish.publish_tables(warehouse_dsn, ["titles", "rights"], KEYS)


def test_a_long_reader_neither_blocks_a_publish_nor_sees_it_half_done(
    warehouse: psycopg2.extensions.connection, warehouse_dsn: str, source: str, target: str
) -> None:
    _publish(warehouse_dsn, source, target, ["titles"])
    _execute(warehouse, f"insert into {source}.titles values ('acme:4', 'Four', 30, null)")
    long_reader = psycopg2.connect(warehouse_dsn)
    long_reader.set_session(isolation_level="REPEATABLE READ")
    try:
        assert _count_in(long_reader, target) == 3
        published = _publish(warehouse_dsn, source, target, ["titles"], lock_timeout_seconds=0.2)
        assert published == {"titles": _counts(inserted=1, unchanged=3)}
        assert _count_in(long_reader, target) == 3
    finally:
        long_reader.close()
    assert _count(warehouse_dsn, target, "titles") == 4


def test_a_column_change_gives_up_on_a_long_reader_instead_of_queueing_everyone_behind_it(
    warehouse: psycopg2.extensions.connection, warehouse_dsn: str, source: str, target: str
) -> None:
    _publish(warehouse_dsn, source, target, ["titles"])
    _execute(warehouse, f"alter table {source}.titles add column genres text")
    long_reader = psycopg2.connect(warehouse_dsn)
    try:
        assert _count_in(long_reader, target) == 3
        with pytest.raises(psycopg2.errors.LockNotAvailable):
            _publish(warehouse_dsn, source, target, ["titles"], lock_timeout_seconds=0.2)
        assert _count_in(long_reader, target) == 3
    finally:
        long_reader.close()
    assert _tables(warehouse, target) == ["titles"]
    assert _count(warehouse_dsn, target, "titles") == 3
    assert "genres" not in _columns(warehouse, target)


def _columns(conn: psycopg2.extensions.connection, schema: str) -> list[str]:
    found = _execute(
        conn,
        "select column_name from information_schema.columns where table_schema = %s and table_name = 'titles'",
        schema,
    )
    return [name for (name,) in found]


def _count(dsn: str, schema: str, table: str) -> int:
    conn = psycopg2.connect(dsn, options="-c statement_timeout=30000")
    try:
        with conn.cursor() as cur:
            cur.execute(sql.SQL("select count(*) from {}").format(sql.Identifier(schema, table)))
            return int(cur.fetchone()[0])
    finally:
        conn.close()


def _snapshot(dsn: str, schema: str) -> dict[str, list[tuple]]:
    """Every published table's rows as a new session sees them (failing, not hanging, if it had to wait)."""
    conn = psycopg2.connect(dsn, options="-c statement_timeout=30000")
    try:
        return {table: _rows(conn, schema, table) for table in TABLES}
    finally:
        conn.close()


def _publish_pid_waiting_for_a_lock(warehouse: psycopg2.extensions.connection, pid_of: int) -> int:
    """Block until a session other than pid_of waits for a lock pid_of holds: the publish is then mid-transaction."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        waiting = _execute(
            warehouse, "select pid from pg_stat_activity where %s = any(pg_blocking_pids(pid)) limit 1", pid_of
        )
        if waiting:
            return int(waiting[0][0])
        time.sleep(0.05)
    raise AssertionError(f"no publish ever waited for session {pid_of}")


@pytest.fixture()
def mid_publish(
    warehouse: psycopg2.extensions.connection, warehouse_dsn: str, source: str, target: str
) -> Iterator[dict[str, Any]]:
    """A publish of both tables stopped mid-transaction: `titles` already merged, `provider_deliveries` waiting on
    a row another session holds. Yields that session (`holder`), the publish's future and backend pid, the rows
    before."""
    _publish(warehouse_dsn, source, target)
    before = {table: _rows(warehouse, target, table) for table in TABLES}
    _execute(warehouse, f"insert into {source}.titles values ('acme:4', 'Four', 30, null), ('acme:5', 'Five', 1, null)")
    _execute(warehouse, f"update {source}.provider_deliveries set records_loaded = 2 where batch_id = 'b2'")
    holder = psycopg2.connect(warehouse_dsn)
    try:
        _execute(holder, f"select * from {target}.provider_deliveries where batch_id = 'b2' for update")
        with ThreadPoolExecutor(max_workers=2) as pool:
            publishing = pool.submit(_publish, warehouse_dsn, source, target, ["titles", "provider_deliveries"])
            pid = _publish_pid_waiting_for_a_lock(warehouse, holder.get_backend_pid())
            yield {"holder": holder, "publishing": publishing, "pid": pid, "before": before}
            holder.rollback()
    finally:
        holder.close()


def test_readers_see_the_complete_old_set_or_the_complete_new_set(
    warehouse: psycopg2.extensions.connection, warehouse_dsn: str, source: str, target: str, mid_publish: dict
) -> None:
    # titles is merged but uncommitted: a new reader is not queued behind it and sees every old row of every table.
    assert _snapshot(warehouse_dsn, target) == mid_publish["before"]

    mid_publish["holder"].rollback()

    assert mid_publish["publishing"].result(timeout=30) == {
        "titles": _counts(inserted=2, unchanged=3),
        "provider_deliveries": _counts(updated=1, unchanged=1),
    }
    assert {table: _rows(warehouse, target, table) for table in TABLES} == {
        table: _rows(warehouse, source, table) for table in TABLES
    }


def test_a_publish_killed_midway_leaves_reporting_all_old_and_the_rerun_completes(
    warehouse: psycopg2.extensions.connection, warehouse_dsn: str, source: str, target: str, mid_publish: dict
) -> None:
    _execute(warehouse, "select pg_terminate_backend(%s)", mid_publish["pid"])

    with pytest.raises(psycopg2.OperationalError):
        mid_publish["publishing"].result(timeout=30)
    assert {table: _rows(warehouse, target, table) for table in TABLES} == mid_publish["before"]

    mid_publish["holder"].rollback()
    published = _publish(warehouse_dsn, source, target)
    assert published["titles"] == _counts(inserted=2, unchanged=3)
    assert {table: _rows(warehouse, target, table) for table in TABLES} == {
        table: _rows(warehouse, source, table) for table in TABLES
    }


def _count_in(conn: psycopg2.extensions.connection, schema: str) -> int:
    with conn.cursor() as cur:
        cur.execute(sql.SQL("select count(*) from {}").format(sql.Identifier(schema, "titles")))
        return int(cur.fetchone()[0])
