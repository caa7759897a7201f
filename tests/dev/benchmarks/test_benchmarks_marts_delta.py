"""`python -m benchmarks.marts_delta` on a tiny history: both projects build, figures print, databases go."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg2

from benchmarks import marts_delta as benchmark

PROJECT = Path(__file__).resolve().parents[3] / "include" / "dbt"


def test_a_tiny_benchmark_builds_the_marts_and_drops_its_databases(warehouse_dsn: str, capsys: Any) -> None:
    args = ["--before", str(PROJECT), "--history", "40", "--batches", "2", "--delta", "10", "--repeat", "1"]
    assert benchmark.main([*args, "--dsn", warehouse_dsn, "--database-prefix", "test_bench_marts"]) == 0
    printed = capsys.readouterr().out
    assert printed.count("titles rows: 45") == 2  # 40 assets of history, then 5 new ones and 5 new versions
    assert "no_change" in printed and "after/before" in printed
    with psycopg2.connect(warehouse_dsn) as conn, conn.cursor() as cur:
        cur.execute("select count(*) from pg_database where datname like 'test_bench_marts%%'")
        assert cur.fetchone()[0] == 0
