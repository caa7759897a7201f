"""A file dropped into a watched provider's folder starts its run through the real triggerer and scheduler."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg2
import pytest

pytestmark = pytest.mark.integration

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ADI = PROJECT_ROOT / "tests" / "fixtures" / "public" / "adi"
PROVIDER = "watch_adi"
DAG_ID = f"ingest_{PROVIDER}"
GUARD_SECONDS = 300  # waits give up after this: a guard against hanging, never a speed assertion


def provider_yaml(start_date: str) -> str:
    """A provider watched every second; its start date is today, so no scheduled run is due during the test."""
    return f"""\
provider_id: {PROVIDER}
display_name: Watched ADI feed
format: adi
source:
  transport: local
  location: {PROVIDER}
  file_glob: "*.xml"
  watch: true
  watch_poll_seconds: 1
schedule: "@daily"
start_date: {start_date}
owner: content-ops
alert_channel: "slack:#media-data-alerts"
"""


def query(dsn: str, sql: str, params: tuple = ()) -> list[tuple]:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(what: str, found: Callable[[], Any], logs: Path) -> Any:
    """Poll `found` until it returns something truthy; fail naming `what` and pointing at the logs."""
    deadline = time.monotonic() + GUARD_SECONDS
    while time.monotonic() < deadline:
        if value := found():
            return value
        time.sleep(1)
    pytest.fail(f"gave up waiting for {what}; component logs in {logs}")


def _admin(dsn: str, *statements: str) -> None:
    conn = psycopg2.connect(dsn.rsplit("/", 1)[0] + "/postgres")
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            for sql in statements:
                cur.execute(sql)
    finally:
        conn.close()


@pytest.fixture(scope="module")
def databases(test_env: dict[str, str]) -> Iterator[tuple[str, str]]:
    """(warehouse DSN, Airflow metadata DSN) of this module's own, so the running scheduler sees only this test's
    DAGs and runs. The metadata database is a copy of the session's migrated one."""
    base = test_env["WAREHOUSE_DSN"].rsplit("/", 1)[0]
    source_db = test_env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].rsplit("/", 1)[1]
    warehouse_db, airflow_db = f"{test_env['WAREHOUSE_DB']}_events", f"{source_db}_events"
    _admin(
        base + "/postgres",
        f'drop database if exists "{warehouse_db}" with (force)',
        f'drop database if exists "{airflow_db}" with (force)',
        f'create database "{warehouse_db}"',
        f"select pg_terminate_backend(pid) from pg_stat_activity where datname = '{source_db}'",
        f'create database "{airflow_db}" template "{source_db}"',
    )
    try:
        yield f"{base}/{warehouse_db}", f"{base}/{airflow_db}"
    finally:
        _admin(
            base + "/postgres",
            f'drop database if exists "{warehouse_db}" with (force)',
            f'drop database if exists "{airflow_db}" with (force)',
        )


@pytest.fixture(scope="module")
def stack(databases: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The API server (execution API), scheduler, DAG processor and triggerer, started as an operator would,
    on free ports, over a providers folder with the watched provider only; stopped by their process ids."""
    warehouse, metadata = databases
    root = tmp_path_factory.mktemp("event_driven")
    providers, drop, logs = root / "providers", root / "drop", root / "logs"
    for folder in (providers, drop / PROVIDER, logs):
        folder.mkdir(parents=True)
    today = datetime.now(UTC).date()
    (providers / f"{PROVIDER}.yaml").write_text(provider_yaml(today.isoformat()))
    api_port = free_port()
    env = {
        **os.environ,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata.replace("postgresql://", "postgresql+psycopg2://", 1),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(logs / "tasks"),
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "5",  # re-parse soon after the unpause (watchers)
        "MEDIA_PROVIDERS_DIR": str(providers),
        "MEDIA_DROP_ROOT": str(drop),
        "MEDIA_ARTIFACTS_DIR": str(root / "artifacts"),
        "AIRFLOW_CONN_WAREHOUSE": warehouse,
        "WAREHOUSE_DSN": warehouse,
        "WAREHOUSE_DB": warehouse.rsplit("/", 1)[1],
    }
    components = {
        "api-server": ["api-server", "--apps", "execution", "--host", "127.0.0.1", "--port", str(api_port),
                       "--workers", "1"],
        "scheduler": ["scheduler"],
        "dag-processor": ["dag-processor"],
        "triggerer": ["triggerer"],
    }  # fmt: skip
    processes = {}
    try:
        for name, args in components.items():
            with open(logs / f"{name}.log", "w") as out:
                processes[name] = subprocess.Popen(
                    [sys.executable, "-m", "airflow", *args], env=env, stdout=out, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL, start_new_session=True,
                )  # fmt: skip
        yield {"env": env, "drop": drop / PROVIDER, "logs": logs, "metadata": metadata, "warehouse": warehouse,
               "today": today}  # fmt: skip
    finally:
        for process in processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def airflow(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "airflow", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=False)


def test_a_dropped_file_starts_its_run_and_reaches_staging_without_waiting_for_the_cron(stack: dict[str, Any]) -> None:
    env, metadata, warehouse, logs = stack["env"], stack["metadata"], stack["warehouse"], stack["logs"]
    wait_for(f"the DAG processor to parse {DAG_ID}", lambda: query(metadata, "select 1 from dag where dag_id = %s",
                                                                   (DAG_ID,)), logs)  # fmt: skip
    unpaused = airflow(env, "dags", "unpause", DAG_ID)
    assert unpaused.returncode == 0, unpaused.stderr[-2000:]
    # After the unpause the DAG processor registers the asset's watcher and the triggerer starts it
    watcher = """
        select t.classpath from trigger t join asset_watcher w on w.trigger_id = t.id join asset a on a.id = w.asset_id
        where a.uri = %s and t.triggerer_id is not null"""
    [(classpath,)] = wait_for("the triggerer to run the watcher", lambda: query(
        metadata, watcher, (f"media-platform://delivery/{PROVIDER}",)), logs)  # fmt: skip
    assert classpath == "media_platform.triggers.drop_folder.DropFolderTrigger"

    day = stack["drop"] / f"{stack['today']:%Y-%m-%d}"
    day.mkdir()
    dropped_at = datetime.now(UTC)
    shutil.copyfile(ADI / "HBO_ADI_OK.XML", day / "hbo_package.xml")

    runs = "select run_id, run_type, state, start_date from dag_run where dag_id = %s"
    finished = "select 1 from dag_run where dag_id = %s and state in ('success', 'failed')"
    wait_for("the asset-triggered run to finish", lambda: query(metadata, finished, (DAG_ID,)), logs)
    [(run_id, run_type, state, started)] = query(metadata, runs, (DAG_ID,))
    assert (run_type, state) == ("asset_triggered", "success"), f"{run_id}: see {logs}"
    ended = dict(query(metadata, "select task_id, end_date from task_instance where run_id = %s", (run_id,)))
    print(f"\nfile landed -> run started {(started - dropped_at).total_seconds():.1f} s, extract_load done "
          f"{(ended['extract_load'] - dropped_at).total_seconds():.1f} s, staging_ready "
          f"{(ended['staging_ready'] - dropped_at).total_seconds():.1f} s")  # fmt: skip

    [(extra,)] = query(metadata, "select e.extra from asset_event e join asset a on a.id = e.asset_id where a.uri = %s",
                       (f"media-platform://delivery/{PROVIDER}",))  # fmt: skip
    interval_start = f"{stack['today']:%Y-%m-%d}T00:00:00+00:00"
    assert extra["payload"]["files"] == [f"{stack['today']:%Y-%m-%d}/hbo_package.xml"]
    assert extra["payload"]["interval_start"] == interval_start
    # extract_load loaded the delivery's interval, the one today's sweep will replace; dbt staging shows the rows
    [(raw_rows, raw_start)] = query(
        warehouse, "select count(*), min(interval_start) from raw.adi_titles where provider_id = %s", (PROVIDER,)
    )
    assert raw_rows > 0 and raw_start == datetime.fromisoformat(interval_start)
    [(staged,)] = query(warehouse, "select count(*) from staging.stg_adi__titles where provider_id = %s", (PROVIDER,))
    assert staged == raw_rows
    assert query(warehouse, "select file_path from raw.ingest_ledger where provider_id = %s", (PROVIDER,)) == [
        (f"{stack['today']:%Y-%m-%d}/hbo_package.xml",)
    ]
