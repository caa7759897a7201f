"""Two records of one asset and version in one batch: the later delivery is loaded, the other is a quarantine row
that says which record superseded it, and the counts still add up."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ingest.discover.files import files_for_interval
from ingest.models import Batch
from ingest.parse.formats import get_format
from ingest.run import parse_and_load

START = datetime(2026, 11, 2, tzinfo=UTC)
END = START + timedelta(days=1)
HEADER = "provider_asset_id,title\n"


def _write(folder: Path, name: str, body: str, modified: datetime) -> None:
    path = folder / name
    path.write_text(HEADER + body, encoding="utf-8")
    os.utime(path, (modified.timestamp(), modified.timestamp()))


def _load(conn: Any, root: Path, provider: str) -> tuple[Any, ...]:
    files = files_for_interval(root, "*.csv", "%Y-%m-%d", START, END)
    return parse_and_load(conn, Batch(f"{provider}-1", provider, "csv", START, END), get_format("csv"), files, {})


def _query(conn: Any, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with conn.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
    conn.rollback()
    return rows


def test_the_later_delivery_of_an_asset_wins_and_the_other_is_noted(conn: Any, tmp_path: Path) -> None:
    folder = tmp_path / START.strftime("%Y-%m-%d")
    folder.mkdir()
    early, late = START + timedelta(hours=1), START + timedelta(hours=5)
    # the later delivery has the earlier file name: delivery time decides, not the name
    _write(folder, "a-update.csv", "A1,Heat (director's cut)\nA3,Ronin\n", late)
    _write(folder, "b-first.csv", "A1,Heat\nA2,Thief\nA2,Thief (again)\n", early)
    parsed, stats, loaded, quarantined = _load(conn, tmp_path, "dup_csv")
    assert (stats.records_read, loaded, quarantined) == (5, 3, 2)
    titles = _query(
        conn, "select provider_asset_id, title from raw.csv_titles where provider_id = 'dup_csv' order by 1"
    )
    assert titles == [("A1", "Heat (director's cut)"), ("A2", "Thief (again)"), ("A3", "Ronin")]
    notes = _query(conn, "select source_location, reason from raw.quarantine where provider_id = 'dup_csv' order by 1")
    assert [location for location, _ in notes] == ["2026-11-02/b-first.csv:line 2", "2026-11-02/b-first.csv:line 3"]
    assert all(reason.startswith("duplicate in the batch:") for _, reason in notes)
    assert "2026-11-02/a-update.csv:line 2" in notes[0][1] and "2026-11-02/b-first.csv:line 4" in notes[1][1]
    assert _query(
        conn, "select records_read, records_loaded, records_quarantined from raw.ingest_batches where provider_id = %s",
        "dup_csv",
    ) == [(5, 3, 2)]  # fmt: skip
