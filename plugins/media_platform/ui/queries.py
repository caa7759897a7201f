"""The status page's reads: Airflow's metadata DB (DAGs, runs, deadlines) and the warehouse (aggregated in SQL)."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from media_platform.ui.status import Counts24h, RunInfo

log = logging.getLogger(__name__)

CHART_DAYS = 14
TOP_REASONS = 3
EXTRACT_TASK_ID = "extract_load"
# Tables the status page reads when they exist, with the columns it needs: the alert incidents of the last 24 hours
# (ops.alerts, written by media_platform.notifications.store), anomalies (provider_id, metric, period, status) whose
# status is 'open'. Until they exist the columns stay empty.
ALERTS_TABLE = ("ops", "alerts")
ANOMALIES_TABLE = ("reporting", "anomalies")
_STATEMENT_TIMEOUT_MS = 10_000


@dataclass(frozen=True)
class DagState:
    is_paused: bool
    has_import_errors: bool


def airflow_state(dag_ids: Sequence[str], now: datetime) -> tuple[dict[str, DagState], dict[str, RunInfo], dict]:
    """From Airflow's metadata DB: each DAG's paused flag, its latest run (with deadline and the task whose log to
    open), and (end - data interval end) of its finished runs of the last CHART_DAYS days, per DAG."""
    from airflow.models.dag import DagModel
    from airflow.models.dagrun import DagRun
    from airflow.models.deadline import Deadline
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    dags: dict[str, DagState] = {}
    runs: dict[str, RunInfo] = {}
    lags: dict[str, list[tuple[str, float]]] = defaultdict(list)
    if not dag_ids:
        return dags, runs, lags
    with create_session() as session:
        for dag_id, paused, import_errors in session.execute(
            select(DagModel.dag_id, DagModel.is_paused, DagModel.has_import_errors).where(
                DagModel.dag_id.in_(dag_ids), DagModel.is_stale.is_(False)
            )
        ):
            dags[dag_id] = DagState(bool(paused), bool(import_errors))
        latest_ids = select(func.max(DagRun.id)).where(DagRun.dag_id.in_(dag_ids)).group_by(DagRun.dag_id)
        latest = list(session.scalars(select(DagRun).where(DagRun.id.in_(latest_ids))))
        run_keys = [(run.dag_id, run.run_id) for run in latest]
        failed: dict[tuple[str, str], str] = {}
        if run_keys:
            for dag_id, run_id, task_id in session.execute(
                select(TaskInstance.dag_id, TaskInstance.run_id, TaskInstance.task_id)
                .where(TaskInstance.dag_id.in_({key[0] for key in run_keys}))
                .where(TaskInstance.run_id.in_({key[1] for key in run_keys}))
                .where(TaskInstance.state.in_(("failed", "upstream_failed")))
                .order_by(TaskInstance.end_date)
            ):
                failed.setdefault((dag_id, run_id), task_id)
        deadlines: dict[int, tuple[datetime | None, bool | None]] = {}
        for dagrun_id, deadline_time, missed in session.execute(
            select(Deadline.dagrun_id, Deadline.deadline_time, Deadline.missed).where(
                Deadline.dagrun_id.in_([run.id for run in latest])
            )
        ):
            if dagrun_id is None:
                continue
            known = deadlines.get(dagrun_id)
            if known is None or known[0] is None or deadline_time < known[0]:
                deadlines[dagrun_id] = (deadline_time, bool(missed))
        for run in latest:
            due, missed_flag = deadlines.get(run.id, (None, None))
            runs[run.dag_id] = RunInfo(
                run_id=run.run_id,
                state=str(run.state),
                queued_at=run.queued_at,
                start_date=run.start_date,
                end_date=run.end_date,
                data_interval_start=run.data_interval_start,
                data_interval_end=run.data_interval_end,
                log_task_id=failed.get((run.dag_id, run.run_id), EXTRACT_TASK_ID),
                deadline_time=due,
                deadline_missed=missed_flag,
            )
        for dag_id, interval_end, end_date in session.execute(
            select(DagRun.dag_id, DagRun.data_interval_end, DagRun.end_date)
            .where(DagRun.dag_id.in_(dag_ids), DagRun.run_after >= now - timedelta(days=CHART_DAYS))
            .where(DagRun.end_date.is_not(None), DagRun.data_interval_end.is_not(None))
            .order_by(DagRun.run_after)
        ):
            if end_date is not None and interval_end is not None:
                label = f"run for {interval_end:%Y-%m-%d %H:%M}"
                lags[dag_id].append((label, max((end_date - interval_end).total_seconds(), 0.0) / 60))
    return dags, runs, lags


@dataclass
class WarehouseFacts:
    """What the warehouse says per provider; every mapping is keyed by provider_id."""

    counts: dict[str, Counts24h] = field(default_factory=dict)
    top_reasons: dict[str, list[tuple[str, int]]] = field(default_factory=lambda: defaultdict(list))
    last_published: dict[str, tuple[datetime, datetime]] = field(default_factory=dict)
    newest_load: dict[str, datetime] = field(default_factory=dict)
    daily: dict[str, dict[date, tuple[int, int, int]]] = field(default_factory=lambda: defaultdict(dict))
    coverage: dict[str, tuple[int, int]] = field(default_factory=dict)
    coverage_daily: dict[str, dict[date, float]] = field(default_factory=lambda: defaultdict(dict))
    review_backlog: dict[str, int] = field(default_factory=dict)
    alerts: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    anomalies: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    missing_tables: list[str] = field(default_factory=list)
    error: str = ""


def warehouse_dsn() -> str:
    """The warehouse as the Airflow connection `warehouse` describes it (the same one the tasks use)."""
    from airflow.models.connection import Connection

    from media_platform.config.constants import WAREHOUSE_CONN_ID
    from media_platform.tasks.warehouse_conn import warehouse_dsn as dsn_of

    conn: Any = Connection.get_connection_from_secrets(WAREHOUSE_CONN_ID)
    return dsn_of(conn)


def _existing(cur: Any, tables: Iterable[tuple[str, str]]) -> dict[tuple[str, str], set[str]]:
    """The given tables that exist, with their column names."""
    wanted = list(tables)
    cur.execute(
        "select table_schema, table_name, column_name from information_schema.columns "
        "where (table_schema, table_name) in (select * from unnest(%s::text[], %s::text[]))",
        ([schema for schema, _ in wanted], [name for _, name in wanted]),
    )
    found: dict[tuple[str, str], set[str]] = defaultdict(set)
    for schema, name, column in cur.fetchall():
        found[(schema, name)].add(column)
    return dict(found)


BATCHES = ("raw", "ingest_batches")
QUARANTINE = ("raw", "quarantine")
DELIVERIES = ("reporting", "provider_deliveries")
COVERAGE = ("reporting", "eidr_coverage")
REVIEW_QUEUE = ("reporting", "eidr_review_queue")


def warehouse_facts(dsn: str, providers: Sequence[str], now: datetime) -> WarehouseFacts:
    """Per-provider aggregates, each one SQL statement over a bounded window (24 hours, CHART_DAYS days), in one
    read-only transaction. A table that does not exist yet (before the first load or publish) is listed in
    `missing_tables` and its figures stay empty."""
    import psycopg2

    facts = WarehouseFacts()
    if not providers:
        return facts
    since_24h = now - timedelta(hours=24)
    since_days = (now - timedelta(days=CHART_DAYS - 1)).date()
    ids = list(providers)
    try:
        conn = psycopg2.connect(dsn, connect_timeout=5, application_name="media-platform-ui")
    except psycopg2.Error as err:
        facts.error = f"warehouse not reachable: {str(err).strip().splitlines()[0]}"
        return facts
    try:
        conn.set_session(readonly=True, autocommit=False)
        with conn.cursor() as cur:
            cur.execute("set local statement_timeout = %s", (_STATEMENT_TIMEOUT_MS,))
            core = (BATCHES, QUARANTINE, DELIVERIES, COVERAGE, REVIEW_QUEUE)
            tables = _existing(cur, [*core, ALERTS_TABLE, ANOMALIES_TABLE])
            facts.missing_tables = [".".join(table) for table in core if table not in tables]
            if BATCHES in tables:
                _batch_facts(cur, facts, ids, since_24h, since_days)
            if QUARANTINE in tables and BATCHES in tables:
                _quarantine_reasons(cur, facts, ids, since_24h)
            if DELIVERIES in tables and BATCHES in tables:
                _published(cur, facts, ids)
            if COVERAGE in tables:
                _coverage(cur, facts, ids, since_days)
            if REVIEW_QUEUE in tables:
                cur.execute(
                    "select provider_id, count(*) from reporting.eidr_review_queue where provider_id = any(%s) "
                    "group by provider_id",
                    (ids,),
                )
                facts.review_backlog = {provider: count for provider, count in cur.fetchall()}
            _hooks(cur, facts, ids, tables, since_24h)
    except psycopg2.Error as err:
        facts.error = f"warehouse query failed: {str(err).strip().splitlines()[0]}"
        log.exception("provider status: warehouse query failed")
    finally:
        conn.close()
    return facts


def _batch_facts(cur: Any, facts: WarehouseFacts, ids: list[str], since_24h: datetime, since_days: date) -> None:
    cur.execute(
        """
        select provider_id,
               count(*) filter (where finished_at >= %(since)s),
               coalesce(sum(records_read) filter (where finished_at >= %(since)s), 0),
               coalesce(sum(records_loaded) filter (where finished_at >= %(since)s), 0),
               coalesce(sum(records_quarantined) filter (where finished_at >= %(since)s), 0)
        from raw.ingest_batches
        where provider_id = any(%(ids)s) and finished_at >= %(since)s
        group by provider_id
        """,
        {"ids": ids, "since": since_24h},
    )
    for provider, batches, read, loaded, quarantined in cur.fetchall():
        facts.counts[provider] = Counts24h(batches, int(read), int(loaded), int(quarantined))
    cur.execute(
        """
        select provider_id, started_at::date as day, count(*), sum(records_read), sum(records_quarantined)
        from raw.ingest_batches
        where provider_id = any(%s) and started_at >= %s
        group by provider_id, day
        """,
        (ids, since_days),
    )
    for provider, day, batches, read, quarantined in cur.fetchall():
        facts.daily[provider][day] = (int(batches), int(read or 0), int(quarantined or 0))


def _quarantine_reasons(cur: Any, facts: WarehouseFacts, ids: list[str], since_24h: datetime) -> None:
    """Top reasons among the records quarantined by the batches of the last 24 hours: the quarantine table is the big
    one, so it is reached through its (provider_id, interval_start, interval_end) index from those batches."""
    cur.execute(
        """
        with recent as (
            select provider_id, interval_start, interval_end
            from raw.ingest_batches
            where provider_id = any(%s) and finished_at >= %s
        )

        select provider_id, reason, records
        from (
            select q.provider_id, left(q.reason, 160) as reason, count(*) as records,
                   row_number() over (partition by q.provider_id order by count(*) desc, left(q.reason, 160)) as rank
            from recent
            inner join raw.quarantine as q using (provider_id, interval_start, interval_end)
            group by q.provider_id, left(q.reason, 160)
        ) as ranked
        where rank <= %s
        order by provider_id, rank
        """,
        (ids, since_24h, TOP_REASONS),
    )
    for provider, reason, records in cur.fetchall():
        facts.top_reasons[provider].append((reason, int(records)))


def _published(cur: Any, facts: WarehouseFacts, ids: list[str]) -> None:
    """Per provider, the latest interval whose batch is in reporting, and when the latest published batch with records
    was loaded: walks raw.ingest_batches' (provider_id, interval_start, interval_end) index backwards and probes
    reporting by its key, so the cost does not grow with the history."""
    cur.execute(
        """
        select p.provider_id, latest.interval_start, latest.interval_end, with_records.finished_at
        from unnest(%s::text[]) as p (provider_id)
        left join lateral (
            select b.interval_start, b.interval_end
            from raw.ingest_batches as b
            where b.provider_id = p.provider_id
              and exists (select from reporting.provider_deliveries as d where d.batch_id = b.batch_id)
            order by b.interval_start desc, b.interval_end desc
            limit 1
        ) as latest on true
        left join lateral (
            select b.finished_at
            from raw.ingest_batches as b
            where b.provider_id = p.provider_id and b.records_loaded > 0
              and exists (select from reporting.provider_deliveries as d where d.batch_id = b.batch_id)
            order by b.interval_start desc, b.interval_end desc
            limit 1
        ) as with_records on true
        """,
        (ids,),
    )
    for provider, start, end, newest in cur.fetchall():
        if start is not None:
            facts.last_published[provider] = (start, end)
        if newest is not None:
            facts.newest_load[provider] = newest


def _coverage(cur: Any, facts: WarehouseFacts, ids: list[str], since_days: date) -> None:
    cur.execute(
        "select provider_id, sum(mapped), sum(assets) from reporting.eidr_coverage where provider_id = any(%s) "
        "group by provider_id",
        (ids,),
    )
    facts.coverage = {provider: (int(mapped), int(assets)) for provider, mapped, assets in cur.fetchall() if assets}
    cur.execute(
        "select provider_id, day, share_mapped from reporting.eidr_coverage where provider_id = any(%s) and day >= %s",
        (ids, since_days),
    )
    for provider, day, share in cur.fetchall():
        facts.coverage_daily[provider][day] = float(share)


def _hooks(
    cur: Any, facts: WarehouseFacts, ids: list[str], tables: dict[tuple[str, str], set[str]], since_24h: datetime
) -> None:
    """Alerts and anomalies, read only when their tables exist with the columns the page needs."""
    if {"provider_id", "last_at", "summary", "occurrences"} <= tables.get(ALERTS_TABLE, set()):
        cur.execute(
            "select provider_id, summary, occurrences from ops.alerts where provider_id = any(%s) and last_at >= %s "
            "order by last_at desc limit 500",
            (ids, since_24h),
        )
        for provider, summary, occurrences in cur.fetchall():
            facts.alerts[provider].append(str(summary) if occurrences <= 1 else f"{summary} (x{occurrences})")
    if {"provider_id", "metric", "period", "status"} <= tables.get(ANOMALIES_TABLE, set()):
        cur.execute(
            "select provider_id, metric, period from reporting.anomalies where provider_id = any(%s) "
            "and status = 'open' order by period desc limit 500",
            (ids,),
        )
        for provider, metric, period in cur.fetchall():
            facts.anomalies[provider].append(f"{metric} ({period})")


@dataclass(frozen=True)
class UnknownProvider:
    """A provider id that wrote to raw but has no YAML (a test load, a typo, a removed provider): never published."""

    provider_id: str
    batches: int
    records_read: int
    last_seen: datetime | None


UNKNOWN_PROVIDERS_LIMIT = 50


def unknown_providers(dsn: str, configured: Sequence[str]) -> list[UnknownProvider]:
    """Provider ids in raw.ingest_batches that are not among `configured` (the provider YAMLs), with their batches,
    records read and latest batch, most recent first; empty before the first load or when the warehouse is down."""
    import psycopg2

    try:
        with closing(psycopg2.connect(dsn, connect_timeout=5, application_name="media-platform-ui")) as conn:
            conn.set_session(readonly=True)
            with conn.cursor() as cur:
                cur.execute("set local statement_timeout = %s", (_STATEMENT_TIMEOUT_MS,))
                if not _existing(cur, [BATCHES]):
                    return []
                cur.execute(
                    """
                    select provider_id, count(*), coalesce(sum(records_read), 0), max(finished_at)
                    from raw.ingest_batches
                    where provider_id <> all(%s)
                    group by provider_id
                    order by max(finished_at) desc nulls last, provider_id
                    limit %s
                    """,
                    (list(configured), UNKNOWN_PROVIDERS_LIMIT),
                )
                return [UnknownProvider(p, int(b), int(r), last) for p, b, r, last in cur.fetchall()]
    except psycopg2.Error:
        log.exception("provider status: unknown providers query failed")
        return []


def quarantine_rows(dsn: str, provider_id: str, now: datetime, limit: int = 200) -> list[dict[str, Any]]:
    """The provider's quarantined records of the last 24 hours, newest first (at most `limit`)."""
    import psycopg2

    with closing(psycopg2.connect(dsn, connect_timeout=5, application_name="media-platform-ui")) as conn:
        conn.set_session(readonly=True)
        with conn.cursor() as cur:
            cur.execute("set local statement_timeout = %s", (_STATEMENT_TIMEOUT_MS,))
            cur.execute(
                """
                with recent as (
                    select provider_id, interval_start, interval_end
                    from raw.ingest_batches
                    where provider_id = %s and finished_at >= %s
                )

                select q.quarantined_at, q.batch_id, q.interval_start, q.interval_end, q.source_file,
                       q.source_location, q.reason, left(q.raw_record, 400) as record_start
                from recent
                inner join raw.quarantine as q using (provider_id, interval_start, interval_end)
                order by q.quarantined_at desc
                limit %s
                """,
                (provider_id, now - timedelta(hours=24), limit),
            )
            names = [column.name for column in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
