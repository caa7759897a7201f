"""Binary COPY built from pyarrow columns: PostgreSQL reads back exactly the values sent, NULLs included."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta, timezone

import psycopg2.extensions
import pyarrow as pa
import pytest

from ingest.load import copy_binary as cb

COLUMNS = "label text, number int, day date, moment timestamptz, doc jsonb, fixed text"
ROWS = [
    ("plain", 7, date(2026, 11, 2), datetime(2026, 11, 2, 3, 26, 2, 123456, tzinfo=UTC), {"a": [1, "é"]}),
    (None, None, None, None, None),
    (
        'quote " comma , newline \n tab \t émoji 🎬',
        -2147483648,
        date(1870, 1, 1),
        datetime(1999, 12, 31, tzinfo=UTC),
        {},
    ),
    ("", 2147483647, date(2100, 12, 31), datetime(2000, 1, 1, tzinfo=UTC) - timedelta(microseconds=1), [1, None]),
]


def _copy(cur: psycopg2.extensions.cursor, table: str, body: bytes) -> None:
    cur.copy_expert(f"copy {table} from stdin with (format binary)", io.BytesIO(cb.HEADER + body + cb.TRAILER))


def _arrays() -> list[tuple[str, object]]:
    import json

    labels, numbers, days, moments, docs = zip(*ROWS, strict=True)
    return [
        (cb.TEXT, pa.array(labels, pa.string())),
        (cb.INT4, pa.array(numbers, pa.int32())),
        (cb.DATE, pa.array(days, pa.date32())),
        (cb.TIMESTAMPTZ, pa.array(moments, pa.timestamp("us", "UTC"))),
        (cb.JSONB, pa.array([None if d is None else json.dumps(d, ensure_ascii=False) for d in docs], pa.string())),
        (cb.TEXT, "same on every row"),
    ]


def test_postgresql_reads_back_every_value_and_null(warehouse, scratch_schema: str) -> None:
    table = f"{scratch_schema}.copied"
    with warehouse.cursor() as cur:
        cur.execute(f"create table {table} ({COLUMNS})")
        _copy(cur, table, cb.encode_rows(_arrays(), len(ROWS)))
        cur.execute(f"select label, number, day, moment, doc, fixed from {table} order by ctid")
        got = cur.fetchall()
    assert [row[:5] for row in got] == ROWS
    assert {row[5] for row in got} == {"same on every row"}


def test_constants_and_arrays_encode_alike(warehouse, scratch_schema: str) -> None:
    """A Python value repeated (encode_value) and the same value in an array give the same bytes."""
    moment = datetime(2026, 11, 2, 5, tzinfo=timezone(timedelta(hours=2)))
    constant = cb.encode_rows(
        [(cb.TEXT, "x"), (cb.INT4, 5), (cb.DATE, date(2026, 1, 31)), (cb.TIMESTAMPTZ, moment), (cb.JSONB, "[1]")], 2
    )
    arrays = cb.encode_rows(
        [
            (cb.TEXT, pa.array(["x", "x"])),
            (cb.INT4, pa.array([5, 5], pa.int32())),
            (cb.DATE, pa.array([date(2026, 1, 31)] * 2, pa.date32())),
            (cb.TIMESTAMPTZ, pa.array([moment] * 2, pa.timestamp("us", "UTC"))),
            (cb.JSONB, pa.array(["[1]", "[1]"])),
        ],
        2,
    )
    assert constant == arrays
    with warehouse.cursor() as cur:
        cur.execute(f"create table {scratch_schema}.c (a text, b int, c date, d timestamptz, e jsonb)")
        _copy(cur, f"{scratch_schema}.c", constant)
        cur.execute(f"select d from {scratch_schema}.c")
        assert {row[0] for row in cur.fetchall()} == {moment}


def test_a_column_of_the_wrong_length_or_type_is_refused() -> None:
    with pytest.raises(ValueError, match="has 1 values for 2 rows"):
        cb.encode_rows([(cb.TEXT, pa.array(["a"]))], 2)
    with pytest.raises(ValueError, match="timezone-aware"):
        cb.encode_rows([(cb.TIMESTAMPTZ, pa.array([datetime(2026, 1, 1)], pa.timestamp("us")))], 1)
    with pytest.raises(ValueError, match="unknown column type"):
        cb.encode_rows([("money", pa.array([1]))], 1)


def test_no_rows_is_an_empty_body() -> None:
    assert cb.encode_rows([(cb.TEXT, pa.array([], pa.string()))], 0) == b""
