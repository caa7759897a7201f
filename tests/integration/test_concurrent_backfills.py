"""Two providers backfilled at once on the real scheduler: every interval loads once, publish never collides."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conftest import Deployment  # tests/integration/conftest.py, for the annotations only

pytestmark = pytest.mark.integration

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


@pytest.fixture(scope="module")
def deployment(own_deployment: Callable[..., Deployment]) -> Deployment:
    """A deployment of this module's own (its metadata DB migrated afresh), two ADI providers with four days of
    deliveries."""
    from demo_feeds.adi import write_demo_data
    from ingest.load import warehouse

    providers = {provider: PROVIDER_YAML.format(provider=provider) for provider in BACKFILLS}
    deployment = own_deployment("backfills", providers, migrate=True)
    for number, provider in enumerate(BACKFILLS):
        write_demo_data(deployment.drop / provider, provider, date(2026, 11, 1), 4, seed=11 + number)
    conn = warehouse.connect(deployment.warehouse)
    warehouse.ensure_tables(conn)  # every format's raw table, as after any first load
    conn.close()
    return deployment


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


def test_two_providers_backfilled_at_the_same_time(deployment: Deployment) -> None:
    logs = deployment.logs
    with deployment.airflow() as airflow:
        airflow.wait_for_dags([*(f"ingest_{p}" for p in BACKFILLS), PUBLISH])
        for dag_id in (*(f"ingest_{p}" for p in BACKFILLS), PUBLISH):
            airflow.unpause(dag_id)
        creates = [
            airflow.cli_process("backfill", "create", "--dag-id", f"ingest_{provider}", "--from-date", start,
                                "--to-date", end, "--max-active-runs", "3")
            for provider, (start, end) in BACKFILLS.items()
        ]  # fmt: skip
        outputs = [process.communicate(timeout=300)[0] for process in creates]
        assert [process.returncode for process in creates] == [0, 0], "\n".join(outputs)
        runs = _wait_for_backfills(airflow, timeout=1800)
        publish_runs = airflow.dag_runs(PUBLISH)
        task_logs = airflow.task_log_dir
        task_states = {
            (dag_id, run["dag_run_id"], ti["task_id"]): ti["state"]
            for dag_id, run in [*((r["dag_id"], r) for r in runs), *((PUBLISH, r) for r in publish_runs)]
            for ti in airflow.task_instances(dag_id, run["dag_run_id"])
        }

    # both backfills completed: every run of both DAGs succeeded, and each covered its whole range
    failed = sorted(key for key, state in task_states.items() if state not in ("success", "skipped"))
    assert runs and {run["state"] for run in runs} == {"success"}, f"failed tasks: {failed}; logs in {logs}"
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
    batches = deployment.warehouse_rows(
        "select provider_id, interval_start::date::text, count(*) from raw.ingest_batches group by 1, 2 order by 1, 2",
    )
    assert {(provider, day) for provider, day, _ in batches} >= expected
    assert [row for row in batches if row[2] != 1] == []
    run_intervals = {(r["dag_id"].removeprefix("ingest_"), r["data_interval_start"][:10]) for r in runs}
    assert {(provider, day) for provider, day, _ in batches} == run_intervals
    # publish_reporting ran, every task of every run succeeded, and no dbt relation collided
    assert publish_runs and {run["state"] for run in publish_runs} == {"success"}
    assert {state for state in task_states.values()} <= {"success", "skipped"}, task_states
    collided = [
        line
        for path in task_logs.rglob("*.log")
        for line in path.read_text(errors="replace").splitlines()
        if COLLISION in line and "already exists" in line
    ]
    assert collided == []
    # the last publish holds both providers' rows
    published = dict(deployment.warehouse_rows("select provider_id, count(*) from reporting.titles group by 1"))
    assert set(published) == set(BACKFILLS) and all(count > 0 for count in published.values())
