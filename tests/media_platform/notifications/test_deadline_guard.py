"""The deadline guard finds active runs that lost their deadline record, in Airflow's real metadata database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from media_platform.notifications import store
from media_platform.notifications.deadline_guard import check_deadlines, metadata_dsn, runs_without_deadline

PROJECT_ROOT = Path(__file__).resolve().parents[3]

DAG_FILE = """
from datetime import datetime, UTC
from pathlib import Path

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

from media_platform.config.provider import load_provider_config
from media_platform.dag_factory.callbacks import deadline_alert

config = load_provider_config(Path({yaml!r}))
for dag_id, deadline in (({with_deadline!r}, True), ({without_deadline!r}, False)):
    with DAG(dag_id=dag_id, schedule=None, start_date=datetime(2026, 1, 1, tzinfo=UTC),
             deadline=deadline_alert(config, dag_id) if deadline else None) as dag:
        EmptyOperator(task_id="only")
    globals()[dag_id] = dag
"""


@pytest.fixture()
def dags(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Two DAGs synced into the session's metadata database as the DAG processor would (one with the providers'
    deadline alert, one without), a queued run of each; removed afterwards so no scheduler ever sees them."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db
    from airflow.models import DagModel, DagRun
    from airflow.models.serialized_dag import SerializedDagModel
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState
    from airflow.utils.types import DagRunTriggeredByType, DagRunType

    suffix = uuid.uuid4().hex[:8]
    with_deadline, without_deadline = f"guard_deadline_{suffix}", f"guard_plain_{suffix}"
    dag_file = tmp_path / f"guard_{suffix}.py"
    yaml = PROJECT_ROOT / "include" / "providers" / "demo_adi.yaml"
    dag_file.write_text(DAG_FILE.format(yaml=str(yaml), with_deadline=with_deadline, without_deadline=without_deadline))
    bag = DagBag(dag_folder=str(dag_file))
    assert not bag.import_errors, bag.import_errors
    DagBundlesManager().sync_bundles_to_db()
    sync_bag_to_db(bag, "dags-folder", None)
    runs = {}
    now = datetime.now(UTC)
    with create_session() as session:
        for dag_id in (with_deadline, without_deadline):
            run = SerializedDagModel.get_dag(dag_id, session=session).create_dagrun(
                run_id=f"manual__{suffix}",
                logical_date=now,
                data_interval=(now, now),
                run_after=now,
                run_type=DagRunType.MANUAL,
                triggered_by=DagRunTriggeredByType.TEST,
                state=DagRunState.QUEUED,
                session=session,
            )
            runs[dag_id] = run.id
    try:
        yield {"with": with_deadline, "without": without_deadline, "run_id": f"manual__{suffix}", "ids": runs}
    finally:
        with create_session() as session:
            for dag_id in (with_deadline, without_deadline):
                session.query(DagRun).filter(DagRun.dag_id == dag_id).delete()
                session.query(SerializedDagModel).filter(SerializedDagModel.dag_id == dag_id).delete()
                session.query(DagModel).filter(DagModel.dag_id == dag_id).delete()


def mine(found: list, dags: dict[str, Any]) -> list[tuple[str, str]]:
    return [(run.dag_id, run.run_id) for run in found if run.dag_id in (dags["with"], dags["without"])]


def test_a_run_with_its_deadline_record_is_fine_and_one_without_is_found(
    dags: dict[str, Any], warehouse_dsn: str
) -> None:
    metadata = metadata_dsn()
    assert metadata and metadata.startswith("postgresql://")
    conn = psycopg2.connect(metadata)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("select count(*) from deadline where dagrun_id = %s", (dags["ids"][dags["with"]],))
            assert cur.fetchone() == (1,)  # Airflow wrote the deadline with the run
        assert mine(runs_without_deadline(conn), dags) == []
        with conn.cursor() as cur:  # what apache/airflow#72471 leaves: a run of a deadline DAG with no deadline row
            cur.execute("delete from deadline where dagrun_id = %s", (dags["ids"][dags["with"]],))
        assert mine(runs_without_deadline(conn), dags) == [(dags["with"], dags["run_id"])]
    finally:
        conn.close()


def test_the_guard_records_a_deadline_guard_alert_once_per_run(
    dags: dict[str, Any], warehouse_dsn: str, warehouse: psycopg2.extensions.connection
) -> None:
    metadata = metadata_dsn()
    assert metadata
    with psycopg2.connect(metadata) as conn, conn.cursor() as cur:
        cur.execute("delete from deadline where dagrun_id = %s", (dags["ids"][dags["with"]],))
    channels = {dags["with"]: "none"}
    first = check_deadlines(metadata, channels, {dags["with"]: "demo_adi"}, dsn=warehouse_dsn)
    again = check_deadlines(metadata, channels, {dags["with"]: "demo_adi"}, dsn=warehouse_dsn)
    store.ensure_table(warehouse)
    with warehouse.cursor() as cur:
        cur.execute(
            "select alert_id, kind, provider_id, run_id, occurrences, summary from ops.alerts where dag_id = %s",
            (dags["with"],),
        )
        [(alert_id, kind, provider_id, run_id, occurrences, summary)] = cur.fetchall()
    assert alert_id in {o.alert_id for o in first if o.sent_now}  # the first check alerts
    assert alert_id in {o.alert_id for o in again if not o.sent_now}  # the next one only counts
    assert (kind, provider_id, run_id, occurrences) == ("deadline_guard", "demo_adi", dags["run_id"], 2)
    assert summary == f"No deadline record: {dags['with']} run {dags['run_id']}"
