"""`python -m ingest` end to end, as the pod runs it: demo data in a drop folder, a real warehouse, exit codes."""

from __future__ import annotations

import json
import socket
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

DAY = ["--start", "2026-11-02T00:00:00+00:00", "--end", "2026-11-03T00:00:00+00:00"]
SUMMARY_KEYS = [
    "batch_id", "provider_id", "interval_start", "interval_end", "files_read", "files_skipped", "records_read",
    "records_loaded", "records_quarantined", "bytes_read", "duration_seconds",
]  # fmt: skip


@pytest.fixture(scope="module")
def drop_root(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A drop root with three days of demo ADI deliveries."""
    from demo_feeds.adi import write_demo_data

    root = tmp_path_factory.mktemp("drop")
    summary = write_demo_data(root / "demo_adi", "demo_adi", date(2026, 11, 1), 3, 7)
    return root, json.loads(summary.to_json())


@pytest.fixture()
def ingest(drop_root: tuple[Path, dict[str, Any]], warehouse_dsn: str, cli: Any) -> Any:
    """Run `python -m ingest run` for a provider over the demo drop, with the pod's environment variables."""

    def run(provider: str, *extra: str, location: str = "demo_adi") -> Any:
        args = ["run", "--provider", provider, "--format", "adi", "--location", location]
        args += ["--file-glob", "*.xml", "--date-in-path", "%Y-%m-%d", *extra]
        return cli(args, {"WAREHOUSE_DSN": warehouse_dsn, "MEDIA_DROP_ROOT": str(drop_root[0])})

    return run


def _one(warehouse: Any, sql: str, *params: Any) -> Any:
    with warehouse.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def test_a_day_loads_and_reconciles(ingest: Any, warehouse: Any, drop_root: Any, tmp_path: Path) -> None:
    summary_file = tmp_path / "airflow" / "xcom" / "return.json"
    result = ingest("cli_day", *DAY, "--summary-file", str(summary_file))
    assert result.returncode == 0, result.stderr
    summary = result.summary
    assert list(summary) == SUMMARY_KEYS
    assert json.loads(summary_file.read_text()) == summary
    assert (summary["provider_id"], summary["interval_start"]) == ("cli_day", "2026-11-02T00:00:00+00:00")
    demo_day = drop_root[1]["days"][1]
    assert summary["files_read"] == summary["records_read"] == demo_day["files"]
    assert summary["records_quarantined"] == demo_day["broken"]
    assert summary["records_read"] == summary["records_loaded"] + summary["records_quarantined"]
    assert summary["bytes_read"] > 0
    titles = _one(warehouse, "select count(*) from raw.adi_titles where provider_id = 'cli_day'")[0][0]
    quarantined = _one(warehouse, "select count(*) from raw.quarantine where provider_id = 'cli_day'")[0][0]
    assert (titles, quarantined) == (summary["records_loaded"], summary["records_quarantined"])
    batch = _one(
        warehouse,
        "select batch_id, files_read, records_read, records_loaded, records_quarantined, bytes_read"
        " from raw.ingest_batches where provider_id = 'cli_day'",
    )
    assert batch == [tuple(summary[k] for k in ("batch_id", "files_read", "records_read", "records_loaded",
                                                 "records_quarantined", "bytes_read"))]  # fmt: skip
    verbs = _one(warehouse, "select verb, count(*) from raw.adi_titles where provider_id = 'cli_day' group by 1")
    assert dict(verbs) == {None: summary["records_loaded"] - 1, "DELETE": 1}
    assert "quarantined 2026-11-02/" in result.stderr


def test_a_broken_record_lands_in_quarantine(ingest: Any, warehouse: Any) -> None:
    assert ingest("cli_broken", *DAY).returncode == 0
    rows = _one(
        warehouse,
        "select source_file, source_location, reason, raw_record, source_format from raw.quarantine"
        " where provider_id = 'cli_broken' and reason like 'malformed XML%%'",
    )
    assert len(rows) == 1
    source_file, source_location, reason, raw_record, source_format = rows[0]
    assert source_file.startswith("2026-11-02/") and source_file.endswith(".xml")
    assert source_location.startswith(source_file + ":")
    assert raw_record.startswith("<?xml") and source_format == "adi"


def test_an_inverted_licensing_window_is_quarantined_and_the_rest_loads(
    public_adi: Path, tmp_path: Path, warehouse_dsn: str, warehouse: Any, cli: Any
) -> None:
    """One package whose licensing window ends before it starts is quarantined at ingest, with both dates and the
    title asset's location; the package beside it, and one with a one-day window, load; every record is counted."""
    reference = (public_adi / "vod_metadata_reference.xml").read_text(encoding="utf-8")
    start, end = (
        'Name="Licensing_Window_Start" Value="2003-01-02"',
        'Name="Licensing_Window_End" Value="2023-01-02T23:59:59"',
    )
    windows = {
        "good": (start, end),
        "inverted": (start, 'Name="Licensing_Window_End" Value="2002-12-31"'),
        "one_day": (start, 'Name="Licensing_Window_End" Value="2003-01-02"'),
    }
    day = tmp_path / "drop" / "adi_windows" / "2026-11-02"
    day.mkdir(parents=True)
    for n, (name, (new_start, new_end)) in enumerate(windows.items()):
        text = reference.replace(start, new_start).replace(end, new_end).replace("2003010204050001", f"W{n:015d}")
        (day / f"{name}.xml").write_text(text, encoding="utf-8")
    args = ["run", "--provider", "cli_windows", "--format", "adi", "--location", "adi_windows"]
    args += ["--file-glob", "*.xml", "--date-in-path", "%Y-%m-%d", *DAY]
    result = cli(args, {"WAREHOUSE_DSN": warehouse_dsn, "MEDIA_DROP_ROOT": str(tmp_path / "drop")})
    assert result.returncode == 0, result.stderr
    summary = result.summary
    assert (summary["records_read"], summary["records_loaded"], summary["records_quarantined"]) == (3, 2, 1)
    assert summary["records_read"] == summary["records_loaded"] + summary["records_quarantined"]
    rows = _one(
        warehouse,
        "select source_file, source_location, reason from raw.quarantine where provider_id = 'cli_windows'",
    )
    assert rows == [
        (
            "2026-11-02/inverted.xml",
            "2026-11-02/inverted.xml#/ADI/Asset[1]",
            "Licensing_Window_Start 2003-01-02T00:00:00+00:00 is after Licensing_Window_End 2002-12-31T23:59:59+00:00",
        )
    ]
    loaded = _one(
        warehouse,
        "select source_file, licensing_window_end - licensing_window_start from raw.adi_titles"
        " where provider_id = 'cli_windows' order by source_file",
    )
    assert [(source_file, str(length)) for source_file, length in loaded] == [
        ("2026-11-02/good.xml", "7305 days, 23:59:59"),
        ("2026-11-02/one_day.xml", "23:59:59"),
    ]


def _snapshot(warehouse: Any, provider: str) -> tuple[list[Any], list[Any], list[Any]]:
    titles = _one(
        warehouse,
        "select to_jsonb(t) - 'batch_id' - 'loaded_at' from raw.adi_titles t where provider_id = %s"
        " order by source_file",
        provider,
    )
    quarantine = _one(
        warehouse,
        "select to_jsonb(q) - 'batch_id' - 'quarantined_at' from raw.quarantine q where provider_id = %s"
        " order by source_file",
        provider,
    )
    batches = _one(
        warehouse,
        "select to_jsonb(b) - 'batch_id' - 'started_at' - 'finished_at' from raw.ingest_batches b"
        " where provider_id = %s",
        provider,
    )
    return titles, quarantine, batches


def test_rerunning_an_interval_leaves_the_same_rows(ingest: Any, warehouse: Any) -> None:
    first = ingest("cli_rerun", *DAY)
    before = _snapshot(warehouse, "cli_rerun")
    second = ingest("cli_rerun", *DAY)
    assert first.returncode == second.returncode == 0
    assert first.summary["batch_id"] == second.summary["batch_id"] == "cli_rerun-20261102T000000"
    assert _snapshot(warehouse, "cli_rerun") == before
    assert len(before[0]) == first.summary["records_loaded"] and len(before[2]) == 1
    batch_ids = _one(
        warehouse,
        "select distinct batch_id from raw.adi_titles where provider_id = 'cli_rerun'"
        " union select batch_id from raw.ingest_batches where provider_id = 'cli_rerun'",
    )
    assert batch_ids == [(second.summary["batch_id"],)]


def test_a_multi_day_interval_reads_every_day(ingest: Any, drop_root: Any) -> None:
    result = ingest("cli_three_days", "--start", "2026-11-01T00:00:00Z", "--end", "2026-11-04T00:00:00Z")
    assert result.returncode == 0, result.stderr
    assert result.summary["files_read"] == sum(day["files"] for day in drop_root[1]["days"])


def test_an_interval_without_files_loads_an_empty_batch(ingest: Any, warehouse: Any) -> None:
    result = ingest("cli_empty", "--start", "2027-01-01T00:00:00+00:00", "--end", "2027-01-02T00:00:00+00:00")
    assert result.returncode == 0, result.stderr
    counts = {k: result.summary[k] for k in SUMMARY_KEYS[4:10]}
    assert set(counts.values()) == {0}
    rows = _one(
        warehouse, "select records_read, records_loaded from raw.ingest_batches where provider_id = 'cli_empty'"
    )
    assert rows == [(0, 0)]


def test_a_missing_location_exits_2_naming_the_path(ingest: Any, drop_root: Any) -> None:
    result = ingest("cli_missing", *DAY, location="no_such_provider")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines()[-1] == (
        f"ingest: error: drop location not found: {drop_root[0] / 'no_such_provider'}"
    )


@pytest.mark.parametrize(
    ("bounds", "message"),
    [
        (["--start", "2026-11-02T00:00:00", "--end", "2026-11-03T00:00:00+00:00"], "timezone offset"),
        (["--start", "2026-11-03T00:00:00+00:00", "--end", "2026-11-02T00:00:00+00:00"], "is not before end"),
        (["--start", "yesterday", "--end", "2026-11-02T00:00:00+00:00"], "expected an ISO datetime"),
    ],
)
def test_bad_interval_arguments_exit_2(ingest: Any, bounds: list[str], message: str) -> None:
    result = ingest("cli_bad_args", *bounds)
    assert result.returncode == 2
    assert message in result.stderr


def test_an_unreachable_warehouse_exits_1_with_one_clear_line(drop_root: Any, cli: Any) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    args = ["run", "--provider", "cli_no_db", "--format", "adi", "--location", "demo_adi", *DAY]
    env = {"WAREHOUSE_DSN": f"postgresql://postgres@127.0.0.1:{port}/x", "MEDIA_DROP_ROOT": str(drop_root[0])}
    result = cli(args, env)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip().splitlines()[-1].startswith("ingest: error: cannot connect to the warehouse")


def test_without_warehouse_dsn_libpq_defaults_are_used(
    drop_root: Any, warehouse_dsn: str, cli: Any, warehouse: Any
) -> None:
    url = urlsplit(warehouse_dsn)
    env = {
        "PGHOST": url.hostname or "127.0.0.1",
        "PGPORT": str(url.port or 5432),
        "PGUSER": url.username or "postgres",
        "PGPASSWORD": url.password or "",  # the embedded server takes passwords over TCP
        "PGDATABASE": url.path.lstrip("/"),
        "MEDIA_DROP_ROOT": str(drop_root[0]),
    }
    if url.password:
        env["PGPASSWORD"] = url.password
    args = ["run", "--provider", "cli_pg_env", "--format", "adi", "--location", "demo_adi", *DAY]
    result = cli(args, env, unset=("WAREHOUSE_DSN",))
    assert result.returncode == 0, result.stderr
    assert _one(warehouse, "select count(*) from raw.ingest_batches where provider_id = 'cli_pg_env'") == [(1,)]
