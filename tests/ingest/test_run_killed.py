"""A `python -m ingest run` killed with SIGKILL in the middle of its COPY: its parser processes die with it, its
server session ends, and the next run of the interval loads the delivery exactly once without waiting on a lock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import psycopg2
import pytest

from benchmarks import ingest_throughput as benchmark

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DAY = "2026-11-02"
PACKAGES = 2_500  # about 10 MB of ADI: parsed by the worker pool, and a COPY that lasts long enough to be caught
APP = "ingest_killed_test"
PATIENCE = 60  # seconds any one wait below may take before the test gives up (a bound, not a measurement)


@pytest.fixture(scope="module")
def delivery(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("killed")
    folder = root / DAY
    folder.mkdir()
    benchmark.write_adi(PACKAGES, folder)
    return root


def _args(location: Path) -> list[str]:
    return [
        sys.executable, "-m", "ingest", "run", "--provider", "killed_adi", "--format", "adi",
        "--location", str(location), "--start", f"{DAY}T00:00:00+00:00", "--end", "2026-11-03T00:00:00+00:00",
    ]  # fmt: skip


def _env(warehouse_dsn: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ, "PYTHONPATH": str(PROJECT_ROOT / "include"), "WAREHOUSE_DSN": warehouse_dsn,
        "INGEST_PARSE_WORKERS": "2", "PGAPPNAME": APP, **extra,
    }  # fmt: skip


def _copying(cur: Any) -> bool:
    cur.execute(
        "select count(*) from pg_stat_activity where application_name = %s and state = 'active'"
        " and query ilike 'copy raw.adi_titles%%'",
        (APP,),
    )
    return bool(cur.fetchone()[0])


def _wait_for(condition: Any, what: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


def test_a_run_killed_mid_copy_leaves_nothing_behind_and_the_next_run_loads_at_once(
    delivery: Path, warehouse_dsn: str
) -> None:
    watcher = psycopg2.connect(warehouse_dsn)
    watcher.autocommit = True
    workers: list[psutil.Process] = []
    run = subprocess.Popen(_args(delivery), env=_env(warehouse_dsn), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        with watcher.cursor() as cur:
            _wait_for(lambda: _copying(cur) or run.poll() is not None, "the run's COPY")
            assert run.poll() is None, f"the run ended before its COPY was seen: {run.stderr.read().decode()[-2000:]}"
            workers = psutil.Process(run.pid).children(recursive=True)
            assert workers, "the batch was not parsed by worker processes"
            run.send_signal(signal.SIGKILL)
            run.wait()
            _wait_for(lambda: not any(w.is_running() and w.status() != psutil.STATUS_ZOMBIE for w in workers),
                      "the parser processes to die with the run")  # fmt: skip
            _wait_for(lambda: not _copying(cur), "the killed run's session to end")
            cur.execute("select count(*) from raw.ingest_batches where provider_id = 'killed_adi'")
            assert cur.fetchone()[0] == 0  # nothing of the killed run was committed

            # a short lock timeout: a rerun that had to wait on a lock fails instead of hanging
            rerun = subprocess.run(
                _args(delivery), env=_env(warehouse_dsn, INGEST_LOCK_TIMEOUT="5s"), capture_output=True, text=True,
                timeout=PATIENCE * 3, check=False,
            )  # fmt: skip
            assert rerun.returncode == 0, rerun.stderr[-3000:]
            cur.execute(
                "select count(*), count(distinct source_file) from raw.adi_titles where provider_id = 'killed_adi'"
            )
            assert cur.fetchone() == (PACKAGES, PACKAGES)
            cur.execute("select records_read, records_loaded from raw.ingest_batches where provider_id = 'killed_adi'")
            assert cur.fetchall() == [(PACKAGES, PACKAGES)]
    finally:
        if run.poll() is None:
            run.kill()
        for worker in workers:
            if worker.is_running():
                worker.kill()
        watcher.close()
