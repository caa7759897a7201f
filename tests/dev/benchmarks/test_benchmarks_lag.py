"""The lag benchmark's own parts: its provider, its deliveries, its percentiles and its report."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from benchmarks import lag


def test_percentile_interpolates_between_ranks() -> None:
    assert lag.percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert lag.percentile([10.0, 20.0], 95) == pytest.approx(19.5)
    assert lag.percentile([1.0, 2.0, 3.0, 4.0, 5.0], 95) == pytest.approx(4.8)
    assert lag.percentile([7.0], 95) == 7.0


def test_deliveries_bring_new_assets_with_their_own_ids() -> None:
    first = lag.delivery_rows(0, 50)
    second = lag.delivery_rows(50, 50)
    ids = [row["provider_asset_id"] for row in first + second]
    assert len(set(ids)) == 100 and ids[0] == lag.asset_id(0) and ids[-1] == lag.asset_id(99)
    assert sorted(ids) == ids  # zero-padded, so a delivery is a range of keys in reporting
    assert {row["eidr_id"] for row in first}.isdisjoint({row["eidr_id"] for row in second} - {None})


def test_deliveries_carry_only_runtimes_the_audit_accepts() -> None:
    from benchmarks import ingest_throughput

    count = 20_000  # the film list has a few films of over 600 minutes in its first 20,000
    assert any((row["runtime_minutes"] or 0) > lag.MAX_RUNTIME for row in ingest_throughput.title_rows(count))
    runtimes = [row["runtime_minutes"] for row in lag.delivery_rows(0, count) if row["runtime_minutes"] is not None]
    assert runtimes and min(runtimes) >= lag.MIN_RUNTIME and max(runtimes) <= lag.MAX_RUNTIME


def test_the_providers_folder_holds_a_valid_bench_provider_and_the_registry(tmp_path: Path) -> None:
    from media_platform.config.provider import load_provider_configs

    lag.write_providers(tmp_path, "trigger")
    loaded = load_provider_configs(tmp_path)
    assert loaded.errors == ()
    configs = {config.provider_id: config for config in loaded.configs}
    assert set(configs) == {lag.PROVIDER, lag.REGISTRY_PROVIDER}
    bench = configs[lag.PROVIDER]
    assert bench.format.value == "csv" and bench.schedule == lag.SCHEDULE
    assert bench.source.date_in_path == lag.DATE_IN_PATH and "watch" not in bench.source.model_fields_set


def test_interval_folders_are_picked_by_the_ingest_for_their_hour() -> None:
    from ingest.discover.files import folder_datetime

    start = datetime(2026, 11, 10, 7, tzinfo=UTC)
    assert folder_datetime(lag.interval_folder(start), lag.DATE_IN_PATH) == start


def test_mode_watch_only_when_the_platform_has_it() -> None:
    expected = "watch" if lag.watch_supported() else "trigger"
    assert lag.resolve_mode("auto") == expected
    assert lag.resolve_mode("trigger") == "trigger"
    if not lag.watch_supported():
        with pytest.raises(SystemExit, match="source.watch"):
            lag.resolve_mode("watch")


def _result(history: int, lags: list[float], publish: float) -> lag.HistoryResult:
    result = lag.HistoryResult(history, "trigger", no_change_publish_seconds=30.0)
    for index, seconds in enumerate(lags):
        steps = {"publish.publish": publish, "ingest.extract_load": 2.0}
        result.deliveries.append(
            lag.Delivery(index, "2026-11-10T00:00:00+00:00", 10, 100.0, 100.0 + seconds, 10, f"r{index}", "p", steps)
        )
    return result


def test_report_prints_percentiles_ratio_and_steps() -> None:
    small, big = _result(2_000, [10.0, 20.0, 30.0], 1.0), _result(20_000, [20.0, 40.0, 60.0], 3.0)
    text = lag.report([big, small])
    assert "ratio p50 20000/2000: 2.00" in text
    assert "ratio p95 20000/2000: 2.00" in text
    publish_line = next(line for line in text.splitlines() if line.startswith("publish.publish"))
    assert publish_line.split() == ["publish.publish", "3.0", "1.0", "3.00"]
    assert small.to_dict()["p50"] == 20.0 and big.to_dict()["step_medians"]["ingest.extract_load"] == 2.0
