"""Each warehouse role logs in and can do its job and nothing else; a publish keeps the grants of reporting.

The roles are server-wide, so these tests run on an embedded server of their own (with passwords), never on the
session's shared one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg2
import pytest

from local_stack import postgres
from media_platform.tasks.publish import publish_tables
from media_platform.warehouse import roles

PASSWORDS = {role: f"pw-{role}-for-the-test" for role in roles.ROLES}


@pytest.fixture(scope="module")
def server(own_server_dir: Callable[[str], Path]) -> Iterator[Callable[[str], str]]:
    """`url(role)`: the libpq URL of the module's migrated warehouse as that role (`postgres`: the admin)."""
    data_dir = own_server_dir("roles")
    port = postgres.start(data_dir)

    def url(role: str) -> str:
        password = PASSWORDS.get(role) or postgres.password(role, data_dir)
        return f"postgresql://{role}:{password}@127.0.0.1:{port}/warehouse"

    admin = psycopg2.connect(url("postgres"))
    admin.autocommit = True
    with admin.cursor() as cur:  # what existed before the roles: a superuser's raw table and audit mart
        cur.execute("create schema raw; create table raw.legacy (id int); insert into raw.legacy values (1)")
        cur.execute("create schema audit; create table audit.titles (asset_key text primary key, title text)")
        cur.execute("insert into audit.titles values ('a1', 'Old Title')")
    admin.close()
    first = roles.migrate(url("postgres"), PASSWORDS)
    assert "created role ingest_writer" in first and "raw: 1 object(s) now owned by ingest_writer" in first
    yield url


def _run(url: str, statement: str) -> list[tuple] | None:
    conn = psycopg2.connect(url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(statement)
            return cur.fetchall() if cur.description else None
    finally:
        conn.close()


def _denied(url: str, statement: str) -> bool:
    try:
        _run(url, statement)
    except psycopg2.errors.InsufficientPrivilege:
        return True
    return False


def test_the_migration_is_idempotent(server: Callable[[str], str]) -> None:
    assert roles.migrate(server("postgres")) == []
    found = _run(server("postgres"), "select rolname from pg_roles where rolname = any(array['ingest_writer',"
                 " 'transformer', 'publisher', 'reporting_reader']) order by 1")  # fmt: skip
    assert found == sorted((role,) for role in roles.ROLES)


def test_ingest_writer_writes_raw_only(server: Callable[[str], str]) -> None:
    writer = server(roles.INGEST_WRITER)
    _run(writer, "create table if not exists raw.loads (id int); insert into raw.loads values (1)")
    _run(writer, "insert into raw.legacy values (2)")  # tables created before the migration are its own now
    assert _denied(writer, "select * from reporting.titles")
    assert _denied(writer, "create table staging.sneaky (id int)")
    assert _denied(writer, "select * from audit.titles")
    assert _denied(writer, "create schema elsewhere")


def test_transformer_reads_raw_and_writes_its_schemas(server: Callable[[str], str]) -> None:
    transformer = server(roles.TRANSFORMER)
    _run(server(roles.INGEST_WRITER), "create table if not exists raw.later (id int)")  # made after the migration
    assert _run(transformer, "select count(*) from raw.later") == [(0,)]
    for schema in ("staging", "intermediate", "audit", "eidr"):
        _run(
            transformer,
            f"create table if not exists {schema}.t_roles (id int); insert into {schema}.t_roles values (1)",
        )  # noqa: E501
    assert _denied(transformer, "insert into raw.later values (1)")
    assert _denied(transformer, "create table raw.sneaky (id int)")
    assert _denied(transformer, "create table reporting.sneaky (id int)")


def test_only_the_publisher_changes_reporting(server: Callable[[str], str]) -> None:
    _run(server(roles.PUBLISHER), "create table if not exists reporting.t_roles (id int)")
    for role in (roles.INGEST_WRITER, roles.TRANSFORMER, roles.REPORTING_READER):
        assert _denied(server(role), "insert into reporting.t_roles values (1)"), role
        assert _denied(server(role), "create table reporting.other (id int)"), role
    assert _denied(server(roles.PUBLISHER), "insert into raw.legacy values (3)")
    assert _denied(server(roles.PUBLISHER), "insert into audit.titles values ('x', 'y')")


def test_reporting_reader_reads_reporting_and_cannot_see_raw(server: Callable[[str], str]) -> None:
    reader = server(roles.REPORTING_READER)
    _run(server(roles.PUBLISHER), "create table if not exists reporting.read_me (id int)")  # after the migration
    assert _run(reader, "select count(*) from reporting.read_me") == [(0,)]
    for table in ("raw.legacy", "staging.t_roles", "audit.titles"):
        assert _denied(reader, f"select * from {table}"), table
    assert _run(reader, "select count(*) from information_schema.tables where table_schema = 'raw'") == [(0,)]


def test_a_wrong_password_is_refused(server: Callable[[str], str]) -> None:
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        psycopg2.connect(server(roles.REPORTING_READER).replace(PASSWORDS[roles.REPORTING_READER], "guess"))


def test_a_publish_as_publisher_keeps_a_grant_an_operator_added(server: Callable[[str], str]) -> None:
    admin = server("postgres")
    _run(admin, "drop role if exists bi_tool; create role bi_tool")
    publish_tables(server(roles.PUBLISHER), ["titles"], {"titles": ["asset_key"]})
    _run(admin, "grant usage on schema reporting to bi_tool; grant select on reporting.titles to bi_tool")
    _run(server(roles.TRANSFORMER), "update audit.titles set title = 'New Title'")
    counts = publish_tables(server(roles.PUBLISHER), ["titles"], {"titles": ["asset_key"]})
    assert counts["titles"]["updated"] == 1
    assert _run(admin, "select has_table_privilege('bi_tool', 'reporting.titles', 'select')") == [(True,)]
    assert _run(server(roles.REPORTING_READER), "select title from reporting.titles") == [("New Title",)]
