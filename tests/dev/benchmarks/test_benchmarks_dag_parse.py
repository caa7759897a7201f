"""`python -m benchmarks.dag_parse` on a few providers: it parses every generated provider and prints figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks import dag_parse as benchmark


def test_generated_providers_mix_the_demo_formats(tmp_path: Path) -> None:
    ids = benchmark.write_providers(tmp_path, 9)
    assert sorted(path.stem for path in tmp_path.glob("*.yaml")) == ids
    from media_platform.config.provider import load_provider_configs

    loaded = load_provider_configs(tmp_path)
    assert loaded.errors == () and [config.provider_id for config in loaded.configs] == ids
    assert len({config.format for config in loaded.configs}) == len(benchmark.DEMO_PROVIDERS)


def test_a_tiny_benchmark_prints_figures(tmp_path: Path, capsys: Any) -> None:
    out = tmp_path / "figures.json"
    assert benchmark.main(["--providers", "2", "4", "--repeat", "1", "--json-out", str(out)]) == 0
    figures = json.loads(out.read_text())
    assert [entry["providers"] for entry in figures] == [2, 4]
    for entry in figures:
        [run] = entry["runs"]
        # one DAG per provider, plus publish_reporting and eidr_review
        assert run["dags"] == entry["providers"] + 2 and run["import_errors"] == 0
        assert run["task_start_dags"] == 1
        assert entry["import_s_median"] > 0 and entry["task_start_import_s_median"] > 0
    printed = capsys.readouterr().out
    assert "4/2 providers: parse ratio" in printed and "per added provider" in printed
