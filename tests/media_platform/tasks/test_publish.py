"""Publishing audited tables into reporting against a real PostgreSQL: copies, replaces, rolls back, stays atomic."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import psycopg2
import pytest
from psycopg2 import sql

from media_platform.tasks import publish

TABLES = ["titles", "provider_deliveries"]


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


@pytest.fixture()
def source(warehouse: psycopg2.extensions.connection, scratch_schema: str) -> str:
    """An audit-like schema with small `titles` (keyed) and `provider_deliveries` tables."""
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


def test_publish_copies_every_table_with_its_definition(
    warehouse: psycopg2.extensions.connection, warehouse_dsn: str, source: str, target: str
) -> None:
    published = publish.publish_tables(warehouse_dsn, TABLES, source_schema=source, target_schema=target)

    assert published == {"titles": 3, "provider_deliveries": 2}
    assert _tables(warehouse, target) == ["provider_deliveries", "titles"]
    for table in TABLES:
        assert _rows(warehouse, target, table) == _rows(warehouse, source, table)
    keys = _execute(
        warehouse,
        "select count(*) from information_schema.table_constraints"
        " where table_schema = %s and table_name = 'titles' and constraint_type = 'PRIMARY KEY'",
        target,
    )
    assert keys == [(1,)]


def test_second_publish_replaces_the_previous_rows(
    warehouse: psycopg2.extensions.connection, warehouse_dsn: str, source: str, target: str
) -> None:
    publish.publish_tables(warehouse_dsn, TABLES, source_schema=source, target_schema=target)
    _execute(warehouse, f"delete from {source}.titles where asset_key = 'acme:1'")
    _execute(warehouse, f"insert into {source}.titles values ('acme:4', 'Four', 30, null), ('acme:5', 'Five', 1, null)")

    published = publish.publish_tables(
        "postgresql+psycopg2://" + warehouse_dsn.split("://", 1)[1], TABLES, source_schema=source, target_schema=target
    )

    assert published == {"titles": 4, "provider_deliveries": 2}
    assert _rows(warehouse, target, "titles") == _rows(warehouse, source, "titles")
    assert _tables(warehouse, target) == ["provider_deliveries", "titles"]


def test_failed_publish_leaves_the_target_exactly_as_it_was(
    warehouse: psycopg2.extensions.connection, warehouse_dsn: str, source: str, target: str
) -> None:
    publish.publish_tables(warehouse_dsn, TABLES, source_schema=source, target_schema=target)
    before = {table: _rows(warehouse, target, table) for table in TABLES}
    _execute(warehouse, f"insert into {source}.titles values ('acme:4', 'Four', 30, null)")
    _execute(warehouse, f"truncate {source}.provider_deliveries")

    with pytest.raises(psycopg2.errors.UndefinedTable):
        publish.publish_tables(warehouse_dsn, [*TABLES, "missing_table"], source_schema=source, target_schema=target)

    assert {table: _rows(warehouse, target, table) for table in TABLES} == before
    assert _tables(warehouse, target) == ["provider_deliveries", "titles"]


def test_failed_first_publish_does_not_even_create_the_schema(
    warehouse: psycopg2.extensions.connection, warehouse_dsn: str, source: str, target: str
) -> None:
    with pytest.raises(psycopg2.errors.UndefinedTable):
        publish.publish_tables(warehouse_dsn, ["titles", "missing_table"], source_schema=source, target_schema=target)

    assert not _schema_exists(warehouse, target)


def test_duplicate_or_empty_table_list_is_refused(warehouse_dsn: str) -> None:
    with pytest.raises(ValueError, match="distinct"):
        publish.publish_tables(warehouse_dsn, ["titles", "titles"])
    with pytest.raises(ValueError, match="distinct"):
        publish.publish_tables(warehouse_dsn, [])


def test_publish_gives_up_on_a_long_reader_instead_of_queueing_everyone_behind_it(
    warehouse: psycopg2.extensions.connection, warehouse_dsn: str, source: str, target: str
) -> None:
    publish.publish_tables(warehouse_dsn, ["titles"], source_schema=source, target_schema=target)
    _execute(warehouse, f"insert into {source}.titles values ('acme:4', 'Four', 30, null)")
    long_reader = psycopg2.connect(warehouse_dsn)
    try:
        assert _count_in(long_reader, target) == 3
        with pytest.raises(psycopg2.errors.LockNotAvailable):
            publish.publish_tables(
                warehouse_dsn, ["titles"], source_schema=source, target_schema=target, lock_timeout_seconds=0.2
            )
        assert _count_in(long_reader, target) == 3
    finally:
        long_reader.close()
    assert _tables(warehouse, target) == ["titles"]
    assert _count(warehouse_dsn, target, "titles") == 3


def _count(dsn: str, schema: str, table: str) -> int:
    conn = psycopg2.connect(dsn, options="-c statement_timeout=30000")
    try:
        with conn.cursor() as cur:
            cur.execute(sql.SQL("select count(*) from {}").format(sql.Identifier(schema, table)))
            return int(cur.fetchone()[0])
    finally:
        conn.close()


def _wait_until_publish_waits_for(warehouse: psycopg2.extensions.connection, relation: str) -> None:
    """Block until some session waits for a lock on relation: the publish is then mid-transaction."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        waiting = _execute(
            warehouse, "select count(*) from pg_locks where not granted and relation = %s::regclass", relation
        )
        if waiting[0][0]:
            return
        time.sleep(0.05)
    raise AssertionError(f"publish never waited for a lock on {relation}")


def test_readers_see_the_complete_old_set_or_the_complete_new_set(
    warehouse: psycopg2.extensions.connection, warehouse_dsn: str, source: str, target: str
) -> None:
    publish.publish_tables(warehouse_dsn, ["titles"], source_schema=source, target_schema=target)
    _execute(warehouse, f"insert into {source}.titles values ('acme:4', 'Four', 30, null), ('acme:5', 'Five', 1, null)")
    early_reader = psycopg2.connect(warehouse_dsn)  # its open transaction holds the old table
    try:
        assert _count_in(early_reader, target) == 3
        with ThreadPoolExecutor(max_workers=2) as pool:
            publishing = pool.submit(
                publish.publish_tables, warehouse_dsn, ["titles"], source_schema=source, target_schema=target
            )
            _wait_until_publish_waits_for(warehouse, f"{target}.titles")
            # The copy is made but uncommitted: invisible to others, and the early reader still sees all old rows.
            assert _tables(warehouse, target) == ["titles"]
            assert _count_in(early_reader, target) == 3
            late_reader = pool.submit(_count, warehouse_dsn, target, "titles")
            time.sleep(0.3)
            assert not late_reader.done(), "a reader must wait for the publish, not see a half-published table"
            early_reader.commit()
            assert publishing.result(timeout=30) == {"titles": 5}
            assert late_reader.result(timeout=30) == 5
    finally:
        early_reader.close()
    assert _count(warehouse_dsn, target, "titles") == 5


def _count_in(conn: psycopg2.extensions.connection, schema: str) -> int:
    with conn.cursor() as cur:
        cur.execute(sql.SQL("select count(*) from {}").format(sql.Identifier(schema, "titles")))
        return int(cur.fetchone()[0])
