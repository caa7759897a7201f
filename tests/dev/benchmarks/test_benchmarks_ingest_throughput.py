"""`python -m benchmarks.ingest_throughput` on a tiny delivery: figures, and no rows left (never timed assertions)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks import ingest_throughput as benchmark


def test_a_tiny_benchmark_produces_figures_and_cleans_up(
    warehouse_dsn: str, warehouse: Any, tmp_path: Path, capsys: Any
) -> None:
    out = tmp_path / "figures.json"
    args = ["--records", "500", "--adi-packages", "10", "--repeat", "2", "--dsn", warehouse_dsn, "--json-out", str(out)]
    assert benchmark.main(args) == 0
    figures = {entry["format"]: entry for entry in json.loads(out.read_text())}
    assert set(figures) == {"csv", "json", "adi"}
    assert (figures["csv"]["records"], figures["json"]["records"], figures["adi"]["records"]) == (500, 500, 10)
    for entry in figures.values():
        assert entry["loaded"] + entry["quarantined"] == entry["records"] and entry["quarantined"] == 0
        assert len(entry["runs"]) == 2
        assert all(entry["best"][key] > 0 for key in ("parse_per_s", "load_per_s", "total_per_s", "of_target"))
    printed = capsys.readouterr().out
    assert "best" in printed and "csv" in printed and "adi" in printed
    with warehouse.cursor() as cur:
        cur.execute(
            "select (select count(*) from raw.csv_titles where provider_id like 'benchmark%%')"
            " + (select count(*) from raw.ingest_batches where provider_id like 'benchmark%%')"
        )
        assert cur.fetchone()[0] == 0
