"""publish_reporting's input fingerprint: it changes with every input of the marts and only then."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import psycopg2
import pytest

from media_platform.tasks.publish_inputs import (
    current_fingerprint,
    last_published_fingerprint,
    record_published_fingerprint,
)


@pytest.fixture()
def inputs_db(own_database: Callable[[str], Any]) -> Iterator[psycopg2.extensions.connection]:
    """Its own database with the tables the fingerprint reads."""
    with own_database("publish_inputs") as conn:
        with conn, conn.cursor() as cur:
            cur.execute(
                "create schema raw; create schema eidr;"
                " create table raw.ingest_batches (batch_id text primary key, finished_at timestamptz not null);"
                " create table eidr.overrides (asset_key text, decided_at timestamptz, superseded_at timestamptz)"
            )
        yield conn


def _execute(conn: psycopg2.extensions.connection, statement: str) -> None:
    with conn, conn.cursor() as cur:
        cur.execute(statement)


def test_the_fingerprint_moves_with_each_input_and_only_then(inputs_db: psycopg2.extensions.connection) -> None:
    _execute(inputs_db, "insert into raw.ingest_batches values ('p-20261101T000000', '2026-11-02T01:00Z')")
    seen = [current_fingerprint(inputs_db, "project-1")]
    assert current_fingerprint(inputs_db, "project-1") == seen[0]  # nothing changed: the same

    changes = [
        "insert into raw.ingest_batches values ('p-20261102T000000', '2026-11-03T01:00Z')",  # a new interval
        "update raw.ingest_batches set finished_at = '2026-11-04T01:00Z'"  # an interval re-run in place
        " where batch_id = 'p-20261101T000000'",
        "delete from raw.ingest_batches where batch_id = 'p-20261102T000000'",  # a batch gone
        "insert into eidr.overrides values ('p:1', '2026-11-04T02:00Z', null)",  # a reviewer's decision
        "update eidr.overrides set superseded_at = '2026-11-04T03:00Z'",  # ... taken back
    ]
    for statement in changes:
        _execute(inputs_db, statement)
        seen.append(current_fingerprint(inputs_db, "project-1"))
    seen.append(current_fingerprint(inputs_db, "project-2"))  # the dbt project changed
    assert len(set(seen)) == len(seen)


def test_the_last_published_fingerprint_is_the_one_recorded(inputs_db: psycopg2.extensions.connection) -> None:
    assert last_published_fingerprint(inputs_db) is None  # before the first publish: build
    record_published_fingerprint(inputs_db, "first", "run-1")
    record_published_fingerprint(inputs_db, "second", "run-2")
    assert last_published_fingerprint(inputs_db) == "second"


def test_a_fresh_warehouse_has_a_fingerprint(own_database: Callable[[str], Any]) -> None:
    with own_database("publish_inputs_empty") as conn:
        assert current_fingerprint(conn, "p") != current_fingerprint(conn, "q")
