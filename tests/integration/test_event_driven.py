"""A file dropped into a watched provider's folder starts its run through the real triggerer and scheduler."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from local_stack.airflow_components import AirflowComponents

if TYPE_CHECKING:
    from conftest import Deployment  # tests/integration/conftest.py, for the annotations only

pytestmark = pytest.mark.integration

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ADI = PROJECT_ROOT / "tests" / "fixtures" / "public" / "adi"
PROVIDER = "watch_adi"
DAG_ID = f"ingest_{PROVIDER}"


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


@pytest.fixture(scope="module")
def today() -> date:
    return datetime.now(UTC).date()


@pytest.fixture(scope="module")
def deployment(own_deployment: Callable[..., Deployment], today: date) -> Deployment:
    """A deployment of this module's own whose providers folder holds the watched provider only."""
    deployment = own_deployment("events", {PROVIDER: provider_yaml(today.isoformat())})
    (deployment.drop / PROVIDER).mkdir()
    return deployment


@pytest.fixture(scope="module")
def airflow(deployment: Deployment) -> Iterator[AirflowComponents]:
    """The API server (execution API), scheduler, DAG processor and triggerer, started as an operator would."""
    # re-parse soon after the unpause, which registers the watchers
    with deployment.airflow({"AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "5"}) as airflow:
        yield airflow


def test_a_dropped_file_starts_its_run_and_reaches_staging_without_waiting_for_the_cron(
    deployment: Deployment, airflow: AirflowComponents, today: date
) -> None:
    metadata, warehouse, logs = deployment.metadata_rows, deployment.warehouse_rows, deployment.logs
    parsed = "select 1 from dag where dag_id = %s"
    airflow.wait_for(f"the DAG processor to parse {DAG_ID}", lambda: metadata(parsed, (DAG_ID,)))
    airflow.cli("dags", "unpause", DAG_ID)
    # After the unpause the DAG processor registers the asset's watcher and the triggerer starts it
    watcher = """
        select t.classpath from trigger t join asset_watcher w on w.trigger_id = t.id join asset a on a.id = w.asset_id
        where a.uri = %s and t.triggerer_id is not null"""
    uri = f"media-platform://delivery/{PROVIDER}"
    [(classpath,)] = airflow.wait_for("the triggerer to run the watcher", lambda: metadata(watcher, (uri,)))
    assert classpath == "media_platform.triggers.drop_folder.DropFolderTrigger"

    day = deployment.drop / PROVIDER / f"{today:%Y-%m-%d}"
    day.mkdir()
    dropped_at = datetime.now(UTC)
    shutil.copyfile(ADI / "HBO_ADI_OK.XML", day / "hbo_package.xml")

    runs = "select run_id, run_type, state, start_date from dag_run where dag_id = %s"
    finished = "select 1 from dag_run where dag_id = %s and state in ('success', 'failed')"
    airflow.wait_for("the asset-triggered run to finish", lambda: metadata(finished, (DAG_ID,)))
    [(run_id, run_type, state, started)] = metadata(runs, (DAG_ID,))
    assert (run_type, state) == ("asset_triggered", "success"), f"{run_id}: see {logs}"
    ended = dict(metadata("select task_id, end_date from task_instance where run_id = %s", (run_id,)))
    print(f"\nfile landed -> run started {(started - dropped_at).total_seconds():.1f} s, extract_load done "
          f"{(ended['extract_load'] - dropped_at).total_seconds():.1f} s, staging_ready "
          f"{(ended['staging_ready'] - dropped_at).total_seconds():.1f} s")  # fmt: skip

    [(extra,)] = metadata(
        "select e.extra from asset_event e join asset a on a.id = e.asset_id where a.uri = %s", (uri,)
    )
    interval_start = f"{today:%Y-%m-%d}T00:00:00+00:00"
    assert extra["payload"]["files"] == [f"{today:%Y-%m-%d}/hbo_package.xml"]
    assert extra["payload"]["interval_start"] == interval_start
    # extract_load loaded the delivery's interval, the one today's sweep will replace; dbt staging shows the rows
    [(raw_rows, raw_start)] = warehouse(
        "select count(*), min(interval_start) from raw.adi_titles where provider_id = %s", (PROVIDER,)
    )
    assert raw_rows > 0 and raw_start == datetime.fromisoformat(interval_start)
    [(staged,)] = warehouse("select count(*) from staging.stg_adi__titles where provider_id = %s", (PROVIDER,))
    assert staged == raw_rows
    assert warehouse("select file_path from raw.ingest_ledger where provider_id = %s", (PROVIDER,)) == [
        (f"{today:%Y-%m-%d}/hbo_package.xml",)
    ]
