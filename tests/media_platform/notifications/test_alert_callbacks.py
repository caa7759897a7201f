"""The Airflow callbacks: a finished run's deadline does not alert, a running one's does; failures name the task."""

from __future__ import annotations

import asyncio
import uuid
from types import SimpleNamespace

import psycopg2
import pytest

from media_platform.notifications import store
from media_platform.notifications.alert_callbacks import audit_failed, deadline_missed, task_failed


def rows(warehouse: psycopg2.extensions.connection, dag_id: str) -> list[tuple]:
    with warehouse.cursor() as cur:
        cur.execute(
            "select kind, provider_id, run_id, incident_key, summary, detail, channel from ops.alerts "
            "where dag_id = %s order by alert_id",
            (dag_id,),
        )
        return cur.fetchall()


@pytest.fixture()
def provider(warehouse: psycopg2.extensions.connection, monkeypatch: pytest.MonkeyPatch) -> str:
    store.ensure_table(warehouse)
    monkeypatch.delenv("AIRFLOW_CONN_SLACK_ALERTS", raising=False)  # the local default: the table and the log
    return f"p_{uuid.uuid4().hex[:8]}"


def deadline_context(dag_id: str, state: str) -> dict:
    """The context the scheduler hands a deadline callback (Deadline.handle_miss): the run as the API shows it."""
    return {
        "dag_run": {"dag_id": dag_id, "dag_run_id": "scheduled__2026-11-03T00:00:00+00:00", "state": state},
        "deadline": {"id": str(uuid.uuid4()), "deadline_time": "2026-11-03T01:00:00+00:00"},
    }


@pytest.mark.parametrize("state", ["failed", "success"])
def test_a_deadline_passing_after_the_run_finished_does_not_alert(
    warehouse: psycopg2.extensions.connection, provider: str, state: str
) -> None:
    dag_id = f"ingest_{provider}"
    kwargs = {"channel": "slack:#feeds", "dag_id": dag_id, "deadline": "1m", "provider_id": provider}
    outcome = asyncio.run(deadline_missed(context=deadline_context(dag_id, state), **kwargs))
    assert outcome == f"not sent: run {state}"
    assert rows(warehouse, dag_id) == []


@pytest.mark.parametrize("state", ["running", "queued"])
def test_a_run_still_going_at_its_deadline_alerts(
    warehouse: psycopg2.extensions.connection, provider: str, state: str
) -> None:
    dag_id = f"ingest_{provider}"
    kwargs = {"channel": "slack:#feeds", "dag_id": dag_id, "deadline": "1m", "provider_id": provider}
    outcome = asyncio.run(deadline_missed(context=deadline_context(dag_id, state), **kwargs))
    assert outcome == "ops.alerts only (no `slack_alerts` connection for slack:#feeds)"
    run_id = "scheduled__2026-11-03T00:00:00+00:00"
    [(kind, provider_id, run, key, summary, detail, channel)] = rows(warehouse, dag_id)
    assert (kind, provider_id, run, key, channel) == (
        "deadline_missed",
        provider,
        run_id,
        f"deadline_missed:{dag_id}:{run_id}",
        "slack:#feeds",
    )
    assert summary == f"Deadline missed: {dag_id}"
    assert f"not finished within 1m of being queued (state {state})" in detail


def test_a_task_failure_names_dag_task_run_try_and_error(
    warehouse: psycopg2.extensions.connection, provider: str
) -> None:
    dag_id = f"ingest_{provider}"
    ti = SimpleNamespace(dag_id=dag_id, task_id="extract_load", run_id="manual__1", try_number=3)
    task_failed({"ti": ti, "exception": RuntimeError("no such folder")}, channel="email:ops@example.com",
                provider_id=provider)  # fmt: skip
    [(kind, provider_id, run, key, summary, detail, channel)] = rows(warehouse, dag_id)
    assert (kind, provider_id, run, key, channel) == (
        "task_failure",
        provider,
        "manual__1",
        f"task_failure:{dag_id}.extract_load",
        "email:ops@example.com",
    )
    assert (summary, detail) == (f"Task failed: {dag_id}.extract_load", "Run manual__1, try 3: no such folder")


def test_an_audit_failure_goes_to_the_platform_channel(
    warehouse: psycopg2.extensions.connection, provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEDIA_PLATFORM_ALERT_CHANNEL", "email:data-platform@example.com")
    dag_id = f"publish_{provider}"
    ti = SimpleNamespace(dag_id=dag_id, task_id="audit_marts", run_id="asset_triggered__1", try_number=1)
    audit_failed({"ti": ti, "exception": ValueError("titles: expect_column_values_to_not_be_null(title) failed")})
    [(kind, provider_id, _, key, summary, detail, channel)] = rows(warehouse, dag_id)
    assert (kind, provider_id, key, channel) == (
        "audit_failed",
        None,
        f"audit_failed:{dag_id}",
        "email:data-platform@example.com",
    )
    assert summary.startswith(f"Audit failed: {dag_id}.audit_marts") and "expect_column_values" in detail
