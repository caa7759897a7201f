"""Two providers backfilled at once on the real scheduler: every interval loads once, publish never collides."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import psycopg2
import pytest

pytestmark = pytest.mark.integration

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PUBLISH = "publish_reporting"
# Overlapping ranges: both backfills run 2026-11-02 and 2026-11-03 at the same time.
BACKFILLS = {"bf_alpha": ("2026-11-01", "2026-11-03"), "bf_beta": ("2026-11-02", "2026-11-04")}
PROVIDER_YAML = """\
provider_id: {provider}
display_name: Backfill test provider {provider}
format: adi
source:
  transport: local
  location: {provider}
  file_glob: "*.xml"
schedule: "@daily"
start_date: 2026-11-01
owner: content-ops
alert_channel: "slack:#media-data-alerts"
retries: 0
"""
COLLISION = "_dbt_backup"  # dbt's rename of a view being re-created: `relation "..._dbt_backup" already exists`


def query(dsn: str, sql: str, params: tuple = ()) -> list[tuple]:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def _recreate(server: str, name: str) -> str:
    admin = psycopg2.connect(server + "/postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'drop database if exists "{name}" with (force)')
        cur.execute(f'create database "{name}"')
    admin.close()
    return f"{server}/{name}"


@pytest.fixture(scope="module")
def backfill_env(test_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A warehouse and an Airflow metadata DB of this module's own, two ADI providers with four days of deliveries."""
    from demo_feeds.adi import write_demo_data
    from ingest.load import warehouse

    server = test_env["WAREHOUSE_DSN"].rsplit("/", 1)[0]
    suffix = test_env["WAREHOUSE_DSN"].rsplit("/", 1)[1]
    dsn = _recreate(server, f"{suffix}_backfills")
    metadata = _recreate(server, f"{suffix}_backfills_airflow")
    root = tmp_path_factory.mktemp("concurrent_backfills")
    providers = root / "providers"
    providers.mkdir()
    for number, provider in enumerate(BACKFILLS):
        (providers / f"{provider}.yaml").write_text(PROVIDER_YAML.format(provider=provider))
        write_demo_data(root / "drop" / provider, provider, date(2026, 11, 1), 4, seed=11 + number)
    conn = warehouse.connect(dsn)
    warehouse.ensure_tables(conn)  # every format's raw table, as after any first load
    conn.close()
    env = {
        **test_env,
        "AIRFLOW_HOME": str(root / "airflow"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata.replace("postgresql://", "postgresql+psycopg2://", 1),
        "MEDIA_PROVIDERS_DIR": str(providers),
        "MEDIA_DROP_ROOT": str(root / "drop"),
        "MEDIA_ARTIFACTS_DIR": str(root / "artifacts"),
        "AIRFLOW_CONN_WAREHOUSE": dsn,
        "WAREHOUSE_DSN": dsn,
        "WAREHOUSE_DB": dsn.rsplit("/", 1)[1],
    }
    Path(env["AIRFLOW_HOME"]).mkdir()
    for command in (["airflow", "db", "migrate"], ["local_stack.airflow_settings"]):
        subprocess.run([sys.executable, "-m", *command], env=env, check=True, capture_output=True)
    yield env
    for name in (f"{suffix}_backfills", f"{suffix}_backfills_airflow"):
        admin = psycopg2.connect(server + "/postgres")
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute(f'drop database if exists "{name}" with (force)')
        admin.close()


def _wait_for_backfills(airflow: Any, timeout: float) -> list[dict[str, Any]]:
    """Wait until both backfills are complete and nothing runs; return every provider run."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        backfills = [
            backfill
            for provider in BACKFILLS
            for backfill in airflow.api("GET", "/api/v2/backfills", query={"dag_id": f"ingest_{provider}"})["backfills"]
        ]
        done = [b for b in backfills if b.get("completed_at")]
        if len(done) == len(BACKFILLS):
            airflow.wait_until_idle([*(f"ingest_{p}" for p in BACKFILLS), PUBLISH], timeout=deadline - time.monotonic())
            return [run for p in BACKFILLS for run in airflow.dag_runs(f"ingest_{p}")]
        airflow.check_alive()
        time.sleep(3)
    raise AssertionError(f"backfills not complete after {timeout:.0f}s: {backfills}")


def test_two_providers_backfilled_at_the_same_time(backfill_env: dict[str, str]) -> None:
    from local_stack.airflow_components import running_airflow

    dsn = backfill_env["WAREHOUSE_DSN"]
    logs = Path(backfill_env["AIRFLOW_HOME"]) / "components"
    with running_airflow(backfill_env, logs) as airflow:
        airflow.wait_for_dags([*(f"ingest_{p}" for p in BACKFILLS), PUBLISH])
        for dag_id in (*(f"ingest_{p}" for p in BACKFILLS), PUBLISH):
            airflow.unpause(dag_id)
        env = {**airflow.env, "PYTHONPATH": backfill_env["PYTHONPATH"]}
        creates = [
            subprocess.Popen(  # noqa: S603 - Airflow's own CLI
                [
                    sys.executable,
                    "-m",
                    "airflow",
                    "backfill",
                    "create",
                    "--dag-id",
                    f"ingest_{provider}",
                    "--from-date",
                    start,
                    "--to-date",
                    end,
                    "--max-active-runs",
                    "3",
                ],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )  # fmt: skip
            for provider, (start, end) in BACKFILLS.items()
        ]
        outputs = [process.communicate(timeout=300)[0] for process in creates]
        assert [process.returncode for process in creates] == [0, 0], "\n".join(outputs)
        runs = _wait_for_backfills(airflow, timeout=1800)
        publish_runs = airflow.dag_runs(PUBLISH)
        task_states = {
            (dag_id, run["dag_run_id"], ti["task_id"]): ti["state"]
            for dag_id, run in [*((r["dag_id"], r) for r in runs), *((PUBLISH, r) for r in publish_runs)]
            for ti in airflow.task_instances(dag_id, run["dag_run_id"])
        }

    # both backfills completed: every run of both DAGs succeeded, and each covered its whole range
    failed = sorted(key for key, state in task_states.items() if state not in ("success", "skipped"))
    assert runs and {run["state"] for run in runs} == {"success"}, f"failed tasks: {failed}; logs in {logs.parent}"
    backfilled = {
        (run["dag_id"].removeprefix("ingest_"), run["data_interval_start"][:10])
        for run in runs
        if run["run_type"] == "backfill"
    }
    expected = {
        (provider, f"2026-11-{day:02d}")
        for provider, (start, end) in BACKFILLS.items()
        for day in range(int(start[-2:]), int(end[-2:]) + 1)
    }
    assert backfilled == expected
    # every interval of every run has its batch in raw.ingest_batches exactly once
    batches = query(
        dsn,
        "select provider_id, interval_start::date::text, count(*) from raw.ingest_batches group by 1, 2 order by 1, 2",
    )
    assert {(provider, day) for provider, day, _ in batches} >= expected
    assert [row for row in batches if row[2] != 1] == []
    run_intervals = {(r["dag_id"].removeprefix("ingest_"), r["data_interval_start"][:10]) for r in runs}
    assert {(provider, day) for provider, day, _ in batches} == run_intervals
    # publish_reporting ran, every task of every run succeeded, and no dbt relation collided
    assert publish_runs and {run["state"] for run in publish_runs} == {"success"}
    assert {state for state in task_states.values()} <= {"success", "skipped"}, task_states
    task_logs = Path(backfill_env["AIRFLOW_HOME"]) / "logs"
    collided = [
        line
        for path in task_logs.rglob("*.log")
        for line in path.read_text(errors="replace").splitlines()
        if COLLISION in line and "already exists" in line
    ]
    assert collided == []
    # the last publish holds both providers' rows
    published = dict(query(dsn, "select provider_id, count(*) from reporting.titles group by 1"))
    assert set(published) == set(BACKFILLS) and all(count > 0 for count in published.values())
