"""The worker pool is sized from the affinity mask and the cgroup CPU quota (v1 and v2), or a setting; a worker
killed mid-run fails the run clearly instead of hanging it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg2
import pytest
from eidr_cases import film

from eidr_matching.parallel import WORKERS_ENV, available_cpus, cgroup_cpu_limit, chunked, resolve_workers


def test_cgroup_v2_quota_at_the_process_cgroup_or_the_mount_root(tmp_path: Path) -> None:
    own = tmp_path / "proc_cgroup"
    own.write_text("0::/kubepods/pod1\n")
    (tmp_path / "kubepods" / "pod1").mkdir(parents=True)
    (tmp_path / "kubepods" / "pod1" / "cpu.max").write_text("150000 100000\n")
    assert cgroup_cpu_limit(tmp_path, own) == 1.5
    (tmp_path / "kubepods" / "pod1" / "cpu.max").unlink()
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert cgroup_cpu_limit(tmp_path, own) is None


def test_cgroup_v1_quota(tmp_path: Path) -> None:
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("400000\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert cgroup_cpu_limit(tmp_path, tmp_path / "missing") == 4.0
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    assert cgroup_cpu_limit(tmp_path, tmp_path / "missing") is None


def test_workers_come_from_the_request_the_setting_or_the_machine() -> None:
    assert 1 <= available_cpus() <= len(os.sched_getaffinity(0))
    assert resolve_workers(3, {}) == 3
    assert resolve_workers(None, {WORKERS_ENV: "5"}) == 5
    assert resolve_workers(0, {WORKERS_ENV: "5"}) == available_cpus()
    assert resolve_workers(None, {}) == available_cpus()
    with pytest.raises(ValueError, match=WORKERS_ENV):
        resolve_workers(None, {WORKERS_ENV: "many"})


def test_chunked_keeps_order_and_bounds_each_chunk() -> None:
    items = list(range(23))
    assert [len(c) for c in chunked(items, 7)] == [7, 7, 7, 2]  # type: ignore[arg-type]
    assert [x for c in chunked(items, 1) for x in c] == items  # type: ignore[arg-type]


# A worker killed mid-run (SIGKILL, the OOM killer): the run fails at once, the eidr tables stay as they were, and
# the next run completes.
PROJECT_ROOT = Path(__file__).resolve().parents[2]
REGISTRY_PROVIDER = "eidr_parallel_test"
FILMS = 3000


def _registry_rows() -> list[dict[str, str]]:
    """Films that share title words, so that every asset has many candidates to score (a run of a few seconds)."""
    rows = []
    for number in range(FILMS):
        record = film(f"The Harbour Story Part {number}", 1950 + number % 70, 90 + number % 40)
        rows.append({
            "ID": record.eidr_id, "ResourceName": record.resource_name, "AlternateResourceName": "",
            "ReferentType": "Movie", "StructuralType": "Abstraction", "ReleaseDate": str(record.release_year),
            "ApproximateLength": str(record.length_minutes), "CountryOfOrigin": "", "Directors": "", "ParentID": "",
            "SeasonNumber": "", "EpisodeNumber": "", "Status": "valid",
        })  # fmt: skip
    return rows


@pytest.fixture()
def many_assets(warehouse_dsn: str, scratch_schema: str) -> Iterator[str]:
    """The registry mirror of FILMS films and a relation of as many assets, each close to one of them."""
    from demo_feeds.eidr_registry import render_csv
    from eidr_matching import store
    from ingest.load import warehouse
    from ingest.models import Batch, BatchStats
    from ingest.parse.formats import get_format
    from ingest.parse.formats.eidr_registry import parse_registry_records

    conn = warehouse.connect(warehouse_dsn)
    spec = get_format("eidr_registry")
    warehouse.ensure_tables(conn, spec)
    store.ensure_tables(conn)
    outcomes = parse_registry_records(render_csv(_registry_rows()), "registry.csv")
    start = datetime(2026, 11, 1, tzinfo=UTC)
    batch = Batch("eidr-parallel-registry", REGISTRY_PROVIDER, "eidr_registry", start, start + timedelta(days=1))
    stats = BatchStats(1, len(outcomes), 1, start, start)
    warehouse.replace_interval(conn=conn, batch=batch, spec=spec, records=outcomes, quarantined=[], stats=stats)
    with conn, conn.cursor() as cur:
        cur.execute(
            f"""
            create table {scratch_schema}.titles as
            select 'k:' || n as asset_key, 'k' as provider_id, 'Harbour Story Part ' || n as title,
                   null::jsonb as alternate_titles, 1950 + n %% 70 as release_year, 90 + n %% 40 as runtime_minutes,
                   null::text as directors, null::text as country, null::text as series_title,
                   null::int as season_number, null::int as episode_number, null::text as eidr_id,
                   'missing' as eidr_status, now() as updated_at
            from generate_series(0, %s) as n
            """,
            (FILMS - 1,),
        )
    yield f"{scratch_schema}.titles"
    with conn, conn.cursor() as cur:  # leave the session's warehouse as found for the other tests
        cur.execute("drop schema if exists eidr cascade")
        for table in ("eidr_registry", "ingest_batches", "quarantine"):
            cur.execute(f"delete from raw.{table} where provider_id = %s", (REGISTRY_PROVIDER,))
    conn.close()


def _eidr_tables(dsn: str) -> dict[str, list[tuple]]:
    """The matcher's rows of this test's assets (`k:...`; other tests of the session may have matched theirs)."""
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        tables = {}
        for table in ("match_results", "match_candidates", "match_inputs"):
            cur.execute(f"select * from eidr.{table} where asset_key like 'k:%%' order by 1, 2")  # noqa: S608
            tables[table] = cur.fetchall()
        cur.execute("select * from eidr.match_runs order by 1, 2")
        tables["match_runs"] = cur.fetchall()
        return tables


def _children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _match(dsn: str, *source: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "include"), "WAREHOUSE_DSN": dsn}
    return subprocess.Popen(  # noqa: S603 - the project's own CLI
        [sys.executable, "-m", "eidr_matching", "match", *source, "--no-index-cache", "--workers", "2",
         "--chunk-size", "50"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip


def _finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    """Wait for the run; one that hangs (the old pool waited forever for the dead worker's chunk) is killed."""
    try:
        out, err = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        pytest.fail(f"the matching run hung after its worker was killed:\n{err[-2000:]}")
    return process.returncode, out, err


def _kill_a_worker(process: subprocess.Popen[str]) -> list[int]:
    """SIGKILL one of the run's worker processes while the pool runs; returns the workers' pids. The run is paused
    (SIGSTOP) from the moment both workers exist until one is dead, so that it cannot finish in between."""
    while process.poll() is None:
        workers = _children(process.pid)
        if len(workers) >= 2:
            os.kill(process.pid, signal.SIGSTOP)
            try:
                os.kill(workers[0], signal.SIGKILL)
                while Path(f"/proc/{workers[0]}/stat").exists() and _state(workers[0]) != "Z":
                    time.sleep(0.01)
            finally:
                os.kill(process.pid, signal.SIGCONT)
            return workers
        time.sleep(0.005)
    pytest.fail(f"the run ended before a worker could be killed:\n{process.stderr.read()[-2000:]}")


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def test_a_worker_killed_mid_run_fails_the_run_and_the_rerun_completes(many_assets: str, warehouse_dsn: str) -> None:
    subset = f"select * from {many_assets} where asset_key like 'k:1%'"
    code, _, err = _finish(_match(warehouse_dsn, "--assets-sql", subset))
    assert code == 0, err
    before = _eidr_tables(warehouse_dsn)
    runs = len(before["match_runs"])
    assert len(before["match_results"]) == 1111

    killed = _match(warehouse_dsn, "--assets-relation", many_assets)
    workers = _kill_a_worker(killed)
    code, out, err = _finish(killed)
    assert code == 1 and out == ""
    assert "eidr_matching: error: an EIDR matching worker process died" in err
    assert _eidr_tables(warehouse_dsn) == before  # all old: the run commits once, at its end
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]  # the other worker is gone too

    code, out, err = _finish(_match(warehouse_dsn, "--assets-relation", many_assets))
    assert code == 0, err
    summary = json.loads(out)
    assert (summary["assets_in_source"], summary["assets_matched"]) == (FILMS, FILMS - 1111)
    after = _eidr_tables(warehouse_dsn)
    assert len(after["match_results"]) == FILMS and len(after["match_runs"]) == runs + 1
