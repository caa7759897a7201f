"""parse_pool: a batch parsed by worker processes stores exactly what the in-process parse stores, in the files'
order; a worker that dies fails the run and rolls it back, leaving no process or thread behind."""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from benchmarks import ingest_throughput as benchmark
from ingest.contract import PARSE_WORKERS_ENV
from ingest.discover.files import files_for_interval
from ingest.models import Batch, IngestError, SourceFile, UsageError
from ingest.parse import pool as parse_pool
from ingest.parse.files import parse_files
from ingest.parse.formats import adi, get_format
from ingest.run import parse_and_load

START = datetime(2026, 11, 2, tzinfo=UTC)
END = START + timedelta(days=1)
DAY = START.strftime("%Y-%m-%d")
COMPARED = "to_jsonb(t) - 'batch_id' - 'provider_id' - 'loaded_at'"


@pytest.fixture(scope="module")
def deliveries(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """400 ADI packages (one file each, one of them broken) and 3,000 titles as CSV files and JSON pages."""
    root = tmp_path_factory.mktemp("pool")
    folders = {name: root / name / DAY for name in ("adi", "csv", "json")}
    for folder in folders.values():
        folder.mkdir(parents=True)
    benchmark.write_adi(400, folders["adi"])
    (folders["adi"] / "zz-broken.xml").write_bytes(b"<ADI><Metadata>not closed")
    rows = benchmark.title_rows(3_000)
    rows[7]["title"] = ""  # quarantined
    benchmark.write_csv(rows, folders["csv"])
    benchmark.write_json(rows, folders["json"])
    return {name: folder.parent for name, folder in folders.items()}


@pytest.fixture()
def any_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small test deliveries use the pool too."""
    monkeypatch.setattr(parse_pool, "MIN_BYTES", 0)


def _files(root: Path, glob: str) -> list[SourceFile]:
    return files_for_interval(root, glob, "%Y-%m-%d", START, END)


def _load(conn: Any, provider: str, name: str, root: Path, glob: str, options: Any, workers: int) -> tuple:
    spec = dataclasses.replace(get_format(name), in_processes=True)  # CSV too, though it does not use them by default
    run = Batch(f"{provider}-1", provider, spec.name, START, END)
    return parse_and_load(conn, run, spec, _files(root, glob), options, workers=workers)


def _rows(conn: Any, table: str, provider: str) -> list[str]:
    with conn.cursor() as cur:
        cur.execute(f"select ({COMPARED})::text from raw.{table} t where provider_id = %s order by 1", (provider,))
        rows = [row[0] for row in cur.fetchall()]
        cur.execute(
            "select source_location, reason from raw.quarantine where provider_id = %s order by 1, 2", (provider,)
        )
        rows += [f"quarantined {location}: {reason}" for location, reason in cur.fetchall()]
    conn.rollback()
    return rows


def _clean(conn: Any, table: str, *providers: str) -> None:
    with conn, conn.cursor() as cur:
        for name in (table, "quarantine", "ingest_batches"):
            cur.execute(f"delete from raw.{name} where provider_id = any(%s)", (list(providers),))


@pytest.mark.parametrize(
    ("name", "glob", "options", "counts"),
    [
        ("adi", "*.xml", {}, (401, 400, 1)),
        ("csv", "*.csv", benchmark.CSV_OPTIONS, (3_000, 2_999, 1)),
        ("json", "*.json", benchmark.JSON_OPTIONS, (3_000, 2_999, 1)),
    ],
)
def test_worker_processes_store_what_the_in_process_parse_stores(
    conn: Any, deliveries: dict[str, Path], any_size: None, name: str, glob: str, options: Any, counts: tuple
) -> None:
    table = get_format(name).table
    try:
        parsed, stats, loaded, quarantined = _load(conn, f"pool_{name}_2", name, deliveries[name], glob, options, 2)
        _, ref_stats, ref_loaded, ref_quarantined = _load(
            conn, f"pool_{name}_1", name, deliveries[name], glob, options, 1
        )
        assert (stats.records_read, loaded, quarantined) == counts
        assert (ref_stats.records_read, ref_loaded, ref_quarantined) == counts
        assert parsed.block_rows == counts[1]  # every record loaded as a block, none left to the CSV COPY
        assert _rows(conn, table, f"pool_{name}_2") == _rows(conn, table, f"pool_{name}_1")
    finally:
        _clean(conn, table, f"pool_{name}_2", f"pool_{name}_1")


def test_outcomes_come_back_in_the_files_order(deliveries: dict[str, Path], any_size: None) -> None:
    spec = get_format("adi")
    files = _files(deliveries["adi"], "*.xml")
    with parse_pool.started(2, spec.name, {}, None) as pool:
        pooled = parse_files(spec, files, pool=pool)
    in_process = parse_files(spec, files)
    assert [r.source_location for r in pooled.records] == [r.source_location for r in in_process.records]
    assert len(pooled.records) == 400 and len(pooled.quarantined) == 1


def _die(*_: Any) -> Any:
    os._exit(3)


def test_a_worker_that_dies_fails_the_run_and_rolls_back(
    conn: Any, deliveries: dict[str, Path], any_size: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(adi, "FORMAT", dataclasses.replace(adi.FORMAT, parse_file=_die))  # forked workers inherit it
    threads = threading.active_count()
    with pytest.raises(IngestError, match="a parser process stopped unexpectedly"):
        _load(conn, "pool_dies", "adi", deliveries["adi"], "*.xml", {}, 2)
    assert _rows(conn, "adi_titles", "pool_dies") == []
    assert multiprocessing.active_children() == []
    assert threading.active_count() == threads


def test_small_batches_and_one_worker_parse_in_process(deliveries: dict[str, Path]) -> None:
    files = _files(deliveries["adi"], "*.xml")
    assert sum(f.size or 0 for f in files) < parse_pool.MIN_BYTES
    assert not parse_pool.worth_it(files, 2)
    big = [SourceFile("a.xml", parse_pool.MIN_BYTES, None, lambda: None), SourceFile("b.xml", 1, None, lambda: None)]
    assert parse_pool.worth_it(big, 2)
    assert not parse_pool.worth_it(big, 1)
    assert not parse_pool.worth_it(big[:1], 2)


@pytest.mark.parametrize("value", ["0", "two", "-1", "1.5"])
def test_a_bad_worker_count_names_the_variable(value: str) -> None:
    with pytest.raises(UsageError, match=f"INGEST_PARSE_WORKERS must be a whole number of processes.*{value!r}"):
        parse_pool.default_workers({PARSE_WORKERS_ENV: value})


def test_the_worker_count_defaults_to_the_cpus_at_most_four() -> None:
    assert parse_pool.default_workers({PARSE_WORKERS_ENV: "3"}) == 3
    assert parse_pool.default_workers({}) == min(len(os.sched_getaffinity(0)), 4)
