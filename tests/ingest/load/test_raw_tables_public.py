"""The raw tables of the XML and spreadsheet formats: their DDL matches the parsers' columns, and every public
sample loads through COPY as parsed."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from psycopg2.extras import RealDictCursor

from ingest.load import warehouse
from ingest.models import Batch, BatchStats, ParsedRecord, Quarantined
from ingest.parse.formats import get_format

PUBLIC = Path(__file__).resolve().parents[2] / "fixtures" / "public"
NEW_FORMATS = {"mec": "mec", "mmc": "mmc", "avails_xml": "avails_xml", "avails_xlsx": "avails_xlsx"}


def _outcomes(fmt: str, folder: Path) -> list[ParsedRecord | Quarantined]:
    spec = get_format(fmt)
    return [o for p in sorted(folder.iterdir()) for o in spec.parse_file(p.read_bytes(), p.name, None)]


def _columns(conn: Any, table: str) -> tuple[str, ...]:
    with conn.cursor() as cur:
        cur.execute(
            "select column_name from information_schema.columns where table_schema = 'raw' and table_name = %s"
            " order by ordinal_position",
            (table,),
        )
        return tuple(r[0] for r in cur.fetchall())


@pytest.fixture()
def conn(warehouse_dsn: str) -> Any:
    connection = warehouse.connect(warehouse_dsn)
    for fmt in NEW_FORMATS:
        warehouse.ensure_tables(connection, get_format(fmt))
    yield connection
    connection.close()


@pytest.mark.parametrize("fmt", list(NEW_FORMATS))
def test_ddl_is_idempotent_and_matches_the_loader(conn: Any, fmt: str) -> None:
    spec = get_format(fmt)
    warehouse.ensure_tables(conn, spec)
    assert _columns(conn, spec.table) == warehouse.RECORD_META_COLUMNS + spec.columns
    with conn.cursor() as cur:
        cur.execute("select indexdef from pg_indexes where schemaname = 'raw' and tablename = %s", (spec.table,))
        assert any("(provider_id, interval_start, interval_end)" in r[0] for r in cur.fetchall())
    conn.rollback()


@pytest.mark.parametrize("fmt", list(NEW_FORMATS))
def test_every_public_sample_loads_through_copy_as_parsed(conn: Any, fmt: str) -> None:
    # copy fidelity only: two MEC samples describe one ContentID, which one batch loads once (test_warehouse_duplicates)
    spec = dataclasses.replace(get_format(fmt), version_key=())
    outcomes = _outcomes(fmt, PUBLIC / NEW_FORMATS[fmt])
    records = [o for o in outcomes if isinstance(o, ParsedRecord)]
    quarantined = [o for o in outcomes if isinstance(o, Quarantined)]
    start = datetime(2026, 11, 2, tzinfo=UTC)
    provider = f"wh_{fmt}"
    batch = Batch(f"{provider}-1", provider, fmt, start, start + timedelta(days=1))
    now = datetime.now(UTC)
    stats = BatchStats(1, len(outcomes), 1, now, now)
    loaded, in_quarantine = warehouse.replace_interval(conn, batch, spec, records, quarantined, stats)
    assert (loaded, in_quarantine) == (len(records), len(quarantined))
    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute(f"select * from raw.{spec.table} where provider_id = %s order by source_location", (provider,))
        rows = cur.fetchall()
    conn.rollback()
    by_location = {r.source_location: r for r in records}
    assert len(rows) == len(records)
    for row in rows:
        record = by_location[row["source_location"]]
        assert {c: row[c] for c in spec.columns} == record.columns
        assert row["record_hash"] == record.record_hash
