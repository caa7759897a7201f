"""Finds runs of deadline-carrying DAGs that have no deadline record (apache/airflow#72471, #68732) and alerts."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from media_platform.notifications.notify import Alert, AlertKind, Outcome, notify

log = logging.getLogger(__name__)

METADATA_CONN_ENV, METADATA_CONN_DEFAULT = "MEDIA_METADATA_CONN_ID", "airflow_metadata"

# A run's deadline rows are written with the run itself (DAGRUN_QUEUED_AT and DAGRUN_LOGICAL_DATE references), so
# a queued or running run whose DAG version declares deadlines and that has none lost them. The DAG version's
# serialized JSON lists its deadline alert ids under dag.deadline; compressed serialized DAGs are not read.
MISSING_DEADLINES_SQL = """
select r.dag_id, r.run_id, r.state, r.queued_at
from dag_run r
join serialized_dag s on s.dag_version_id = r.created_dag_version_id
where r.state in ('queued', 'running')
  and case when json_typeof(s.data::json -> 'dag' -> 'deadline') = 'array'
      then json_array_length(s.data::json -> 'dag' -> 'deadline') else 0 end > 0
  and not exists (select 1 from deadline d where d.dagrun_id = r.id)
order by r.queued_at nulls last, r.dag_id, r.run_id
"""


@dataclass(frozen=True)
class RunWithoutDeadline:
    dag_id: str
    run_id: str
    state: str
    queued_at: datetime | None


def runs_without_deadline(metadata_conn: Any) -> list[RunWithoutDeadline]:
    """Queued or running runs whose DAG declares a deadline alert but that have no `deadline` row: their
    deadline will never fire. `metadata_conn` is a DB-API connection to the Airflow metadata database (in the
    API server, e.g. a status page: `session.connection().connection` of an Airflow ORM session)."""
    with metadata_conn.cursor() as cur:
        cur.execute(MISSING_DEADLINES_SQL)
        return [RunWithoutDeadline(*row) for row in cur.fetchall()]


def guard_alert(run: RunWithoutDeadline, channel: str, provider_id: str | None) -> Alert:
    return Alert(
        kind=AlertKind.DEADLINE_GUARD,
        summary=f"No deadline record: {run.dag_id} run {run.run_id}",
        detail=(
            f"Run {run.run_id} of {run.dag_id} ({run.state}, queued {run.queued_at}) has no deadline record although "
            "its DAG declares a deadline alert, so a missed deadline would not be reported (the deadline was lost "
            "when the DAG was re-serialised: apache/airflow#72471). Watch this run by hand; re-parsing the DAG "
            "after a change to its deadline, or an Airflow with the fix, restores deadlines for new runs."
        ),
        channel=channel,
        incident_key=f"deadline_guard:{run.dag_id}:{run.run_id}",
        provider_id=provider_id,
        dag_id=run.dag_id,
        run_id=run.run_id,
    )


def check_deadlines(
    metadata_dsn: str, channels: Mapping[str, str], providers: Mapping[str, str], *, dsn: str | None = None
) -> list[Outcome]:
    """Alert (ops.alerts, the log, and the DAG's channel: `channels` by dag_id, default none) once per run found
    without its deadline record. `providers` maps dag_id to provider_id."""
    import psycopg2

    conn = psycopg2.connect(metadata_dsn)
    try:
        runs = runs_without_deadline(conn)
    finally:
        conn.close()
    return [
        notify(guard_alert(run, channels.get(run.dag_id, "none"), providers.get(run.dag_id)), dsn=dsn) for run in runs
    ]


def metadata_dsn() -> str | None:
    """The metadata database as a libpq URL: the `airflow_metadata` connection (a read-only role is enough), else
    Airflow's own `[database] sql_alchemy_conn` where the process may use it (API server, scheduler, a shell).
    Airflow blocks the latter inside tasks and triggers, so there the connection is needed; None without either."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException
    from airflow.sdk.log import mask_secret

    from media_platform.tasks.warehouse_conn import warehouse_dsn

    try:
        conn = BaseHook.get_connection(os.environ.get(METADATA_CONN_ENV, METADATA_CONN_DEFAULT))
        dsn = warehouse_dsn(conn) if conn.host else None
    except AirflowNotFoundException:
        from airflow.configuration import conf

        url = conf.get("database", "sql_alchemy_conn", fallback="") or ""
        dsn = "postgresql://" + url.split("://", 1)[1] if url.startswith("postgresql") else None
    if dsn:
        mask_secret(dsn)
    return dsn


def deadline_guard(context: Any = None) -> None:
    """on_execute_callback of a provider run's first task: checks every deadline-carrying DAG's active runs (this
    one included) for their deadline record. Never fails the task."""
    try:
        dsn = metadata_dsn()
        if dsn is None:
            log.warning("deadline guard off: no `airflow_metadata` connection (tasks may not read Airflow's database)")
            return
        from media_platform.config.provider import load_provider_configs
        from media_platform.config.settings import PlatformSettings

        configs = load_provider_configs(PlatformSettings.from_env().providers_dir).configs
        channels = {config.dag_id: config.alert_channel for config in configs}
        providers = {config.dag_id: config.provider_id for config in configs}
        found = check_deadlines(dsn, channels, providers)
        log.info("deadline guard: %d active run(s) without their deadline record", len(found))
    except Exception:  # noqa: BLE001 - the guard reports, it never stops a run
        log.exception("deadline guard failed")
