"""Marts build time against history: a delta build and a no-change build, this project's marts against another's."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg2
from psycopg2 import sql

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DBT = Path(sys.executable).parent / "dbt"
PROVIDER = "bench_marts"
FIRST_DAY = datetime(2026, 1, 1, tzinfo=UTC)
LAST_MODELS: dict[str, float] = {}  # seconds per model of the last dbt call


def _record(index: int, version: int) -> dict[str, Any]:
    from ingest.parse.formats.titles_common import TITLE_COLUMNS

    title = f"Title {index}" + (f" (v{version})" if version else "")
    return {
        **dict.fromkeys(TITLE_COLUMNS),
        "provider_asset_id": f"A{index:09d}",
        "title": title,
        "work_type": "movie",
        "release_year": 1950 + index % 70,
        "runtime_minutes": 80 + index % 60,
        "eidr_status": "missing",
        "record": json.dumps({"id": index, "title": title}),
    }


def load_day(dsn: str, day: int, indexes: Sequence[int], version: int = 0) -> None:
    """One CSV batch for interval FIRST_DAY + day, as the loader writes it (replace_interval)."""
    from ingest.load import warehouse
    from ingest.models import Batch, BatchStats, ParsedRecord
    from ingest.parse.formats import get_format
    from ingest.run import batch_id

    start = FIRST_DAY + timedelta(days=day)
    batch = Batch(batch_id(PROVIDER, start), PROVIDER, "csv", start, start + timedelta(days=1))
    records = [ParsedRecord("bench.csv", f"bench.csv#{i}", f"h{i}-{version}", _record(i, version)) for i in indexes]
    now = datetime.now(UTC)
    stats = BatchStats(files_read=1, records_read=len(records), bytes_read=0, started_at=now, finished_at=now)
    conn = warehouse.connect(dsn)
    try:
        warehouse.replace_interval(conn, batch, get_format("csv"), records, [], stats)
    finally:
        conn.close()


def decide_all(dsn: str) -> None:
    """A matcher decision for every asset (every tenth in review, with three candidates), as eidr_matching writes."""
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(
            "insert into eidr.match_results (asset_key, provider_id, method, band, score, decided_at, run_id)"
            " select distinct provider_id || ':' || provider_asset_id, provider_id, 'none',"
            " case when hashtext(provider_asset_id) % 10 = 0 then 'review' else 'reject' end, 0.5, now(), 'bench'"
            " from raw.csv_titles on conflict do nothing"
        )
        cur.execute(
            "insert into eidr.match_candidates select asset_key, '10.5240/0000-0000-0000-0000-0000-' || rank, 0.5,"
            " rank, '{}', now() from eidr.match_results, generate_series(1, 3) as rank where band = 'review'"
            " on conflict do nothing"
        )


def dbt(project: Path, dsn_env: dict[str, str], target: Path, *args: str) -> tuple[float, float]:
    """Run dbt; (wall seconds, seconds of the models' SQL from run_results)."""
    command = [str(DBT), *args, "--project-dir", str(project), "--profiles-dir", str(project)]
    command += ["--target-path", str(target), "--log-path", str(target / "logs")]
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=dsn_env, check=False)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"dbt {' '.join(args)} failed in {project}:\n{result.stdout[-4000:]}{result.stderr[-2000:]}")
    results = json.loads((target / "run_results.json").read_text())["results"]
    per_model = {
        r["unique_id"].split(".")[-1]: r["execution_time"] for r in results if r["unique_id"].startswith("model.")
    }
    LAST_MODELS.clear()
    LAST_MODELS.update(per_model)
    return wall, sum(per_model.values())


def prepare(admin_dsn: str, database: str, history: int, batches: int) -> str:
    """A fresh database with `history` assets in `batches` daily batches and a decision for each asset."""
    from eidr_matching import store
    from ingest.load import warehouse

    _drop_database(admin_dsn, database)
    admin = psycopg2.connect(admin_dsn)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(sql.SQL("create database {}").format(sql.Identifier(database)))
    admin.close()
    dsn = psycopg2.extensions.make_dsn(admin_dsn, dbname=database)
    conn = psycopg2.connect(dsn)
    warehouse.ensure_tables(conn)
    store.ensure_tables(conn)
    conn.close()
    per_batch = history // batches
    for day in range(batches):
        load_day(dsn, day, range(day * per_batch, (day + 1) * per_batch))
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        # as if each batch had been loaded on its own day (updated_at, and eidr_coverage's days, spread over history)
        cur.execute("update raw.csv_titles set loaded_at = interval_start + interval '12 hours'")
        cur.execute("analyze raw.csv_titles")
    decide_all(dsn)
    return dsn


def _drop_database(admin_dsn: str, database: str) -> None:
    admin = psycopg2.connect(admin_dsn)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(database)))
    admin.close()


def measure(project: Path, dsn: str, history: int, batches: int, delta: int, repeat: int) -> dict[str, list[float]]:
    """Build the marts once, then `repeat` times: a delta (half new assets, half new versions), a no-change build."""
    params = psycopg2.extensions.parse_dsn(dsn)
    env = {
        **os.environ,
        "WAREHOUSE_HOST": params.get("host", "127.0.0.1"),
        "WAREHOUSE_PORT": str(params.get("port", 5432)),
        "WAREHOUSE_USER": params.get("user", "postgres"),
        "WAREHOUSE_PASSWORD": params.get("password", ""),
        "WAREHOUSE_DB": params["dbname"],
    }
    figures: dict[str, list[float]] = {"delta": [], "delta_sql": [], "no_change": [], "no_change_sql": []}
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder)
        dbt(project, env, target, "run", "-s", "path:models/staging", "path:models/intermediate")
        dbt(project, env, target, "build", "-s", "path:models/marts")
        for run in range(repeat):
            new = range(history + run * delta, history + run * delta + delta // 2)
            updated = range(run * delta, run * delta + delta - delta // 2)
            load_day(dsn, batches + run, [*new, *updated], version=run + 1)
            wall, models = dbt(project, env, target, "build", "-s", "path:models/marts")
            figures["delta"].append(wall)
            figures["delta_sql"].append(models)
            print("  delta build, seconds per model:", json.dumps({k: round(v, 2) for k, v in LAST_MODELS.items()}))
            wall, models = dbt(project, env, target, "build", "-s", "path:models/marts")
            figures["no_change"].append(wall)
            figures["no_change_sql"].append(models)
    return figures


def main(argv: list[str] | None = None) -> int:
    """Print medians for the before and after projects and their ratios."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.marts_delta", description=__doc__)
    parser.add_argument("--before", type=Path, required=True, help="the dbt project to compare against")
    parser.add_argument("--after", type=Path, default=PROJECT_ROOT / "include" / "dbt")
    parser.add_argument("--history", type=int, default=100_000, help="assets already in the warehouse")
    parser.add_argument("--batches", type=int, default=20, help="daily batches the history is loaded in")
    parser.add_argument("--delta", type=int, default=1_000, help="records of each new batch")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dsn", default=None, help="admin libpq URL (default $WAREHOUSE_DSN)")
    parser.add_argument("--database-prefix", default="bench_marts", help="databases <prefix>_before and _after")
    parser.add_argument("--keep", action="store_true", help="keep the two databases (to look at plans)")
    args = parser.parse_args(argv)
    admin_dsn = args.dsn or os.environ["WAREHOUSE_DSN"]
    medians = {}
    for name, project in (("before", args.before), ("after", args.after)):
        database = f"{args.database_prefix}_{name}"
        dsn = prepare(admin_dsn, database, args.history, args.batches)
        try:
            figures = measure(project, dsn, args.history, args.batches, args.delta, args.repeat)
            with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
                cur.execute("select count(*) from audit.titles")
                print(name, "titles rows:", cur.fetchone()[0])
        finally:
            if not args.keep:
                _drop_database(admin_dsn, database)
        medians[name] = {key: statistics.median(values) for key, values in figures.items()}
        print(name, json.dumps({k: [round(v, 2) for v in values] for k, values in figures.items()}), flush=True)
    print(f"history {args.history} assets, delta {args.delta} records, medians of {args.repeat} (seconds):")
    print(f"{'':16}{'before':>9}{'after':>9}{'after/before':>14}")
    for key in ("delta", "delta_sql", "no_change", "no_change_sql"):
        before, after = medians["before"][key], medians["after"][key]
        print(f"{key:16}{before:9.2f}{after:9.2f}{after / before if before else float('nan'):14.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
