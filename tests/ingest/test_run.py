"""ingest.run.parse_and_load: parsing in a thread while binary COPY loads gives the same rows as the row-by-row path,
and a failure on either side rolls everything back without leaving the parser thread behind."""

from __future__ import annotations

import dataclasses
import io
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from benchmarks import ingest_throughput as benchmark
from ingest.discover.files import files_for_interval
from ingest.models import Batch, IngestError, RecordBlock, SourceFile
from ingest.parse.formats import get_format
from ingest.run import parse_and_load

START = datetime(2026, 11, 2, tzinfo=UTC)
END = START + timedelta(days=1)
DAY = START.strftime("%Y-%m-%d")
COMPARED = "to_jsonb(t) - 'batch_id' - 'provider_id' - 'loaded_at'"


@pytest.fixture(scope="module")
def deliveries(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """3,000 benchmark titles (some with wrong EIDR check characters) as CSV files and as JSON API pages."""
    rows = benchmark.title_rows(3_000)
    rows[5]["title"] = ""  # one record the parsers must quarantine
    root = tmp_path_factory.mktemp("deliveries")
    folders = {"csv": root / "csv" / DAY, "json": root / "json" / DAY}
    for folder in folders.values():
        folder.mkdir(parents=True)
    benchmark.write_csv(rows, folders["csv"])
    benchmark.write_json(rows, folders["json"])
    return {name: folder.parent for name, folder in folders.items()}


def _files(root: Path, glob: str) -> list[SourceFile]:
    return files_for_interval(root, glob, "%Y-%m-%d", START, END)


def _load(conn: Any, provider: str, spec: Any, files: list[SourceFile], options: dict[str, Any]) -> tuple[Any, ...]:
    run = Batch(f"{provider}-1", provider, spec.name, START, END)
    return parse_and_load(conn, run, spec, files, options)


def _rows(conn: Any, table: str, provider: str) -> list[str]:
    with conn.cursor() as cur:
        cur.execute(f"select ({COMPARED})::text from raw.{table} t where provider_id = %s order by 1", (provider,))
        rows = [row[0] for row in cur.fetchall()]
    conn.rollback()
    return rows


def _clean(conn: Any, table: str, *providers: str) -> None:
    with conn, conn.cursor() as cur:
        for name in (table, "quarantine", "ingest_batches"):
            cur.execute(f"delete from raw.{name} where provider_id = any(%s)", (list(providers),))


@pytest.mark.parametrize(
    ("name", "glob", "options"), [("csv", "*.csv", benchmark.CSV_OPTIONS), ("json", "*.json", benchmark.JSON_OPTIONS)]
)
def test_the_column_wise_load_stores_what_the_row_path_stores(
    conn: Any, deliveries: dict[str, Path], name: str, glob: str, options: dict[str, Any]
) -> None:
    spec = get_format(name)
    row_by_row = dataclasses.replace(spec, parse_many=None)  # the reference parser and the CSV COPY
    files = _files(deliveries[name], glob)
    try:
        parsed, stats, loaded, quarantined = _load(conn, f"pipe_{name}_col", spec, files, options)
        _, reference_stats, reference_loaded, reference_quarantined = _load(
            conn, f"pipe_{name}_row", row_by_row, files, options
        )
        assert (stats.records_read, loaded, quarantined) == (3_000, 2_999, 1)
        assert (reference_stats.records_read, reference_loaded, reference_quarantined) == (3_000, 2_999, 1)
        assert parsed.block_rows > 2_900 and parsed.blocks == []  # streamed to COPY, not kept
        assert _rows(conn, spec.table, f"pipe_{name}_col") == _rows(conn, spec.table, f"pipe_{name}_row")
    finally:
        _clean(conn, spec.table, f"pipe_{name}_col", f"pipe_{name}_row")


def test_a_transport_failure_while_parsing_rolls_back_and_raises(conn: Any, deliveries: dict[str, Path]) -> None:
    """A read that fails for another reason than a local OSError (network, protocol) fails the run, to be retried."""

    class Unreachable(Exception):
        pass

    def unreachable() -> io.BytesIO:
        raise Unreachable("peer went away")

    failing = [*_files(deliveries["csv"], "*.csv"), SourceFile("late.csv", 10, None, unreachable)]
    before = threading.active_count()
    with pytest.raises(IngestError, match="cannot read late.csv: Unreachable: peer went away"):
        _load(conn, "pipe_fail", get_format("csv"), failing, benchmark.CSV_OPTIONS)
    assert _rows(conn, "csv_titles", "pipe_fail") == []
    assert threading.active_count() == before


def test_a_copy_failure_stops_the_parser_and_rolls_back(conn: Any, deliveries: dict[str, Path]) -> None:
    """COPY fails on the first block while the parser still has files to go: no row stays, no thread is left."""
    strict = dataclasses.replace(get_format("csv"), table="csv_titles_strict")
    with conn, conn.cursor() as cur:
        cur.execute("create table raw.csv_titles_strict (like raw.csv_titles including all)")
        cur.execute("alter table raw.csv_titles_strict add constraint no_movies check (work_type <> 'movie')")
    files = _files(deliveries["csv"], "*.csv") * 20  # more files than the parser may run ahead
    before = threading.active_count()
    try:
        with pytest.raises(psycopg2.errors.CheckViolation):
            _load(conn, "pipe_copy_fail", strict, files, benchmark.CSV_OPTIONS)
        assert threading.active_count() == before
        assert _rows(conn, "csv_titles_strict", "pipe_copy_fail") == []
    finally:
        with conn, conn.cursor() as cur:
            cur.execute("drop table raw.csv_titles_strict")


def test_a_block_expands_to_the_records_it_holds(deliveries: dict[str, Path]) -> None:
    [source] = _files(deliveries["csv"], "*.csv")[:1]
    with source.opener() as handle:
        data = handle.read()
    [block, *rest] = get_format("csv").parse_many([(data, source.relative)], benchmark.CSV_OPTIONS)[0]
    assert isinstance(block, RecordBlock)
    records = block.records()
    assert len(records) == block.num_rows == len(block.record_hashes)
    first = records[0]
    assert first.source_location.startswith(f"{source.relative}:line ")
    assert first.columns["record"].json_text.startswith('{"Asset ID":')
    assert set(first.columns) == set(get_format("csv").columns)
    assert all(not isinstance(outcome, RecordBlock) for outcome in rest)


def test_a_table_made_with_a_jsonb_record_still_loads(conn: Any, deliveries: dict[str, Path]) -> None:
    """Earlier versions made `record` jsonb; dbt views depend on it, so it stays, and binary COPY sends it jsonb."""
    older = dataclasses.replace(get_format("csv"), table="csv_titles_jsonb")
    with conn, conn.cursor() as cur:
        cur.execute("create table raw.csv_titles_jsonb (like raw.csv_titles including all)")
        cur.execute("alter table raw.csv_titles_jsonb alter column record type jsonb")
    try:
        _, _, loaded, quarantined = _load(conn, "pipe_jsonb", older, _files(deliveries["csv"], "*.csv"),
                                          benchmark.CSV_OPTIONS)  # fmt: skip
        assert (loaded, quarantined) == (2_999, 1)
        with conn.cursor() as cur:
            cur.execute("select pg_typeof(record)::text, record->>'Asset ID' from raw.csv_titles_jsonb limit 1")
            kind, asset_id = cur.fetchone()
        conn.rollback()
        assert kind == "jsonb" and asset_id.startswith("BEN")
    finally:
        with conn, conn.cursor() as cur:
            cur.execute("drop table raw.csv_titles_jsonb")
