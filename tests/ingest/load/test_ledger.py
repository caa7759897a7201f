"""The processed-files ledger: a file loads once across intervals, a re-run replaces its interval, late files land."""

from __future__ import annotations

import os
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from ingest.load import ledger
from ingest.load import warehouse as wh
from ingest.models import Batch, BatchStats, LedgerFile
from ingest.parse.formats import get_format

NOV_1 = datetime(2026, 11, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def _bounds(start: datetime, days: int = 1) -> list[str]:
    return ["--start", start.isoformat(), "--end", (start + days * DAY).isoformat()]


@pytest.fixture()
def drop(tmp_path: Path, public_adi: Path) -> Any:
    """A provider folder and a writer of ADI deliveries into it (distinct content per tag, optional mtime)."""
    adi = (public_adi / "HBO_ADI_OK.XML").read_bytes()

    def write(relative: str, tag: str = "", mtime: datetime | None = None) -> Path:
        path = tmp_path / "acme" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        title = f"T{zlib.crc32(Path(relative).name.encode()):010d}".encode()  # one title per file name
        path.write_bytes(adi.replace(b"HHBO1964178600700002", title) + (f"<!-- {tag} -->".encode() if tag else b""))
        if mtime is not None:
            os.utime(path, (mtime.timestamp(), mtime.timestamp()))
        return path

    write.root = tmp_path / "acme"
    return write


@pytest.fixture()
def ingest(drop: Any, warehouse_dsn: str, cli: Any) -> Any:
    def run(provider: str, *extra: str) -> Any:
        args = ["run", "--provider", provider, "--format", "adi", "--location", str(drop.root), *extra]
        result = cli(args, {"WAREHOUSE_DSN": warehouse_dsn})
        assert result.returncode == 0, result.stderr
        return result

    return run


def _rows(warehouse: Any, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with warehouse.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def _ledger(warehouse: Any, provider: str) -> list[tuple[Any, ...]]:
    return _rows(
        warehouse,
        "select file_path, interval_start::date::text, interval_end::date::text from raw.ingest_ledger"
        " where provider_id = %s order by file_path, interval_start",
        provider,
    )


def _counts(result: Any) -> tuple[int, int, int, int]:
    s = result.summary
    return s["files_read"], s["files_skipped"], s["records_loaded"], s["records_quarantined"]


def test_a_file_loaded_for_one_interval_is_skipped_by_another(drop: Any, ingest: Any, warehouse: Any) -> None:
    drop("2026-11-01/a.xml", "a")
    drop("2026-11-02/b.xml", "b")
    day = ingest("ledger_skip", *_bounds(NOV_1))
    assert _counts(day) == (1, 0, 1, 0)
    backfill = ingest("ledger_skip", *_bounds(NOV_1, days=3))
    assert _counts(backfill) == (1, 1, 1, 0)
    assert f"skipped 2026-11-01/a.xml: already loaded by batch {day.summary['batch_id']}" in backfill.stderr
    assert _ledger(warehouse, "ledger_skip") == [
        ("2026-11-01/a.xml", "2026-11-01", "2026-11-02"),
        ("2026-11-02/b.xml", "2026-11-01", "2026-11-04"),
    ]
    titles = _rows(warehouse, "select source_file from raw.adi_titles where provider_id = 'ledger_skip' order by 1")
    assert titles == [("2026-11-01/a.xml",), ("2026-11-02/b.xml",)]


def test_rerunning_the_same_interval_reprocesses_its_files_and_replaces_its_ledger_rows(
    drop: Any, ingest: Any, warehouse: Any
) -> None:
    drop("2026-11-01/a.xml", "a")
    drop("2026-11-01/b.xml", "b")
    first = ingest("ledger_rerun", *_bounds(NOV_1))
    second = ingest("ledger_rerun", *_bounds(NOV_1))
    assert _counts(first) == _counts(second) == (2, 0, 2, 0)
    rows = _rows(
        warehouse,
        "select file_path, batch_id, size_bytes, checksum like 'sha256:%%', modified_at is not null"
        " from raw.ingest_ledger where provider_id = 'ledger_rerun' order by 1",
    )
    batch = second.summary["batch_id"]
    size = (drop.root / "2026-11-01/a.xml").stat().st_size
    assert rows == [("2026-11-01/a.xml", batch, size, True, True), ("2026-11-01/b.xml", batch, size, True, True)]


def test_a_late_file_in_an_old_date_folder_is_picked_up_by_a_backfill(drop: Any, ingest: Any, warehouse: Any) -> None:
    drop("2026-11-01/a.xml", "a")
    assert _counts(ingest("ledger_late_folder", *_bounds(NOV_1))) == (1, 0, 1, 0)
    drop("2026-11-01/late.xml", "late")  # arrives after 2026-11-01 was loaded
    assert _counts(ingest("ledger_late_folder", *_bounds(NOV_1 + DAY))) == (0, 0, 0, 0)
    assert _counts(ingest("ledger_late_folder", *_bounds(NOV_1))) == (2, 0, 2, 0)  # the backfill
    assert _ledger(warehouse, "ledger_late_folder") == [
        ("2026-11-01/a.xml", "2026-11-01", "2026-11-02"),
        ("2026-11-01/late.xml", "2026-11-01", "2026-11-02"),
    ]


def test_a_late_file_by_modified_time_is_picked_up_by_the_next_run(drop: Any, ingest: Any, warehouse: Any) -> None:
    mtime = ["--pick-by", "modified_time"]
    drop("2026-11-01/a.xml", "a", NOV_1 + timedelta(hours=8))
    drop("2026-11-01/late.xml", "late", NOV_1 + DAY + timedelta(hours=2))  # for day 1, but written on day 2
    assert _counts(ingest("ledger_late_mtime", *mtime, *_bounds(NOV_1))) == (1, 0, 1, 0)
    assert _counts(ingest("ledger_late_mtime", *mtime, *_bounds(NOV_1 + DAY))) == (1, 0, 1, 0)
    assert _ledger(warehouse, "ledger_late_mtime") == [
        ("2026-11-01/a.xml", "2026-11-01", "2026-11-02"),
        ("2026-11-01/late.xml", "2026-11-02", "2026-11-03"),
    ]


def test_a_touched_file_is_skipped_but_a_changed_one_loads_again(drop: Any, ingest: Any, warehouse: Any) -> None:
    mtime = ["--pick-by", "modified_time"]
    drop("feed/a.xml", "a", NOV_1 + timedelta(hours=1))
    drop("feed/b.xml", "b", NOV_1 + timedelta(hours=1))
    assert _counts(ingest("ledger_touch", *mtime, *_bounds(NOV_1))) == (2, 0, 2, 0)
    drop("feed/a.xml", "a", NOV_1 + DAY + timedelta(hours=1))  # same bytes, new mtime
    drop("feed/b.xml", "B", NOV_1 + DAY + timedelta(hours=1))  # same size, new content
    second = ingest("ledger_touch", *mtime, *_bounds(NOV_1 + DAY))
    assert _counts(second) == (1, 1, 1, 0)
    assert "skipped feed/a.xml: already loaded by batch" in second.stderr
    assert _ledger(warehouse, "ledger_touch") == [
        ("feed/a.xml", "2026-11-01", "2026-11-02"),
        ("feed/b.xml", "2026-11-01", "2026-11-02"),
        ("feed/b.xml", "2026-11-02", "2026-11-03"),
    ]


def test_a_symlink_out_of_the_drop_is_quarantined_not_read(
    drop: Any, ingest: Any, warehouse: Any, tmp_path: Path
) -> None:
    drop("2026-11-01/a.xml", "a")
    secret = tmp_path / "secret.xml"
    secret.write_bytes(b"<secret/>")
    (drop.root / "2026-11-01" / "leak.xml").symlink_to(secret)
    assert _counts(ingest("ledger_escape", *_bounds(NOV_1))) == (2, 0, 1, 1)
    rows = _rows(
        warehouse, "select source_file, reason, raw_record from raw.quarantine where provider_id = 'ledger_escape'"
    )
    assert rows == [("2026-11-01/leak.xml", "rejected: symlink points outside the drop location", "")]
    assert [r[0] for r in _ledger(warehouse, "ledger_escape")] == ["2026-11-01/a.xml"]


def test_ledger_rows_commit_and_roll_back_with_the_batch(warehouse_dsn: str, warehouse: Any) -> None:
    spec = get_format("adi")
    conn = wh.connect(warehouse_dsn)
    now = datetime.now(UTC)
    stats = BatchStats(1, records_read=0, bytes_read=1, started_at=now, finished_at=now)

    def load(batch_id: str, *paths: str) -> None:
        batch = Batch(batch_id, "ledger_atomic", "adi", NOV_1, NOV_1 + DAY)
        files = [LedgerFile(path, 1, now, None, "sha256:00") for path in paths]
        wh.replace_interval(
            conn, batch, spec, [], [], stats, also=lambda cur: ledger.replace_rows(cur, batch, "acme", files, now)
        )

    try:
        wh.ensure_tables(conn, spec)
        ledger.ensure_table(conn)
        load("ledger_atomic-1", "a.xml")
        with pytest.raises(psycopg2.IntegrityError):
            load("ledger_atomic-2", "b.xml", "b.xml")  # the ledger write fails: the whole batch rolls back
    finally:
        conn.close()
    assert _ledger(warehouse, "ledger_atomic") == [("a.xml", "2026-11-01", "2026-11-02")]
    batches = _rows(warehouse, "select batch_id from raw.ingest_batches where provider_id = 'ledger_atomic'")
    assert batches == [("ledger_atomic-1",)]
