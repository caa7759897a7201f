"""The `ops.alerts` table: one row per incident, repeats grouped into it within a quiet period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

ALERTS_TABLE = "ops.alerts"

# Columns (the status page reads them):
#   alert_id      bigint, the incident's id
#   kind          task_failure | deadline_missed | audit_failed | anomaly | deadline_guard
#   provider_id   the provider the incident is about (null for the publish DAG)
#   dag_id, run_id the DAG and run of the last occurrence (run_id null when there is none, e.g. an anomaly)
#   incident_key  what groups repeats: kind plus DAG and task, run or metric (see notify.Alert)
#   summary       one line, the alert's subject; detail: the message body of the last occurrence (no secrets)
#   channel       the provider's alert_channel when it fired (slack:#x, email:a@b, none)
#   delivered_to  the outcome of the last delivery: the channel, `ops.alerts only (...)` or `failed to reach ...`
#   first_at, last_at  first and last occurrence; occurrences: how many were grouped into this incident
#   sent_at       when it last went out (null while its delivery failed: the next occurrence tries again)
DDL = f"""
-- `create schema if not exists` needs the right to create schemas, which the warehouse roles lack
do $$ begin if to_regnamespace('ops') is null then create schema ops; end if; end $$;
create table if not exists {ALERTS_TABLE} (
    alert_id bigint generated always as identity primary key,
    kind text not null check (kind in ('task_failure', 'deadline_missed', 'audit_failed', 'anomaly', 'deadline_guard')),
    provider_id text,
    dag_id text,
    run_id text,
    incident_key text not null,
    summary text not null,
    detail text not null default '',
    channel text not null,
    delivered_to text,
    first_at timestamptz not null default now(),
    last_at timestamptz not null default now(),
    occurrences integer not null default 1,
    sent_at timestamptz
);
create index if not exists alerts_incident_idx on {ALERTS_TABLE} (incident_key, last_at desc);
create index if not exists alerts_last_at_idx on {ALERTS_TABLE} (last_at desc);
"""
_DDL_LOCK = 7_310_001  # advisory lock: concurrent first alerts create the table once


@dataclass(frozen=True)
class Incident:
    """The incident an alert was recorded into, and whether it should go out now (new, or a reminder)."""

    alert_id: int
    occurrences: int
    first_at: datetime
    send: bool


def ensure_table(conn: Any) -> None:
    """Create `ops` and `ops.alerts` if missing (idempotent, safe under concurrency)."""
    with conn.cursor() as cur:
        cur.execute("select pg_advisory_xact_lock(%s)", (_DDL_LOCK,))
        cur.execute(DDL)


def record(conn: Any, alert: Any, quiet: timedelta) -> Incident:
    """Record `alert` in one transaction: into the open incident with the same provider and incident_key (its
    last occurrence within `quiet`), or as a new incident. It is sent when new, when its last delivery failed, or
    as a reminder once `quiet` has passed since it last went out; otherwise it is only counted."""
    with conn.cursor() as cur:
        cur.execute("select pg_advisory_xact_lock(hashtext(%s))", (f"{alert.provider_id}|{alert.incident_key}",))
        cur.execute(
            f"""
            select alert_id, occurrences, first_at, sent_at is null or sent_at < now() - %(quiet)s
            from {ALERTS_TABLE}
            where incident_key = %(key)s and provider_id is not distinct from %(provider)s
              and last_at >= now() - %(quiet)s
            order by last_at desc limit 1
            """,
            {"key": alert.incident_key, "provider": alert.provider_id, "quiet": quiet},
        )
        row = cur.fetchone()
        if row:
            cur.execute(
                f"""
                update {ALERTS_TABLE}
                set occurrences = occurrences + 1, last_at = now(), dag_id = %s, run_id = %s, summary = %s,
                    detail = %s, channel = %s
                where alert_id = %s returning occurrences
                """,
                (alert.dag_id, alert.run_id, alert.summary, alert.detail, alert.channel, row[0]),
            )
            [occurrences] = cur.fetchone()
            return Incident(row[0], occurrences, row[2], send=bool(row[3]))
        cur.execute(
            f"""
            insert into {ALERTS_TABLE} (kind, provider_id, dag_id, run_id, incident_key, summary, detail, channel)
            values (%s, %s, %s, %s, %s, %s, %s, %s) returning alert_id, first_at
            """,
            (
                alert.kind.value,
                alert.provider_id,
                alert.dag_id,
                alert.run_id,
                alert.incident_key,
                alert.summary,
                alert.detail,
                alert.channel,
            ),
        )
        alert_id, first_at = cur.fetchone()
        return Incident(alert_id, 1, first_at, send=True)


def record_delivery(conn: Any, alert_id: int, delivered_to: str, sent: bool) -> None:
    """Store how the delivery went; `sent_at` moves only when it went out."""
    with conn.cursor() as cur:
        cur.execute(
            f"update {ALERTS_TABLE} set delivered_to = %s, sent_at = case when %s then now() else sent_at end "
            "where alert_id = %s",
            (delivered_to, sent, alert_id),
        )
