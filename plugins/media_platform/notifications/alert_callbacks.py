"""The Airflow callbacks that raise alerts: a task failed, a run missed its deadline, the marts' audit failed."""

from __future__ import annotations

import logging
from typing import Any

from media_platform.notifications.notify import Alert, AlertKind, Outcome, anotify, notify, platform_channel

log = logging.getLogger(__name__)

FINISHED_STATES = ("success", "failed")


def task_failed(context: Any, *, channel: str, provider_id: str | None = None) -> None:
    """on_failure_callback of every provider task: the DAG, task, run and try, and the error. Repeats of the same
    task's failure within the quiet period are one incident."""
    ti = _get(context, "ti") or _get(context, "task_instance")
    dag_id, task_id, run_id = (getattr(ti, name, None) for name in ("dag_id", "task_id", "run_id"))
    notify(
        Alert(
            kind=AlertKind.TASK_FAILURE,
            summary=f"Task failed: {dag_id}.{task_id}",
            detail=f"Run {run_id}, try {getattr(ti, 'try_number', '?')}: {_get(context, 'exception')}",
            channel=channel,
            incident_key=f"task_failure:{dag_id}.{task_id}",
            provider_id=provider_id,
            dag_id=dag_id,
            run_id=run_id,
        )
    )


def audit_failed(context: Any) -> None:
    """on_failure_callback of `publish_reporting.audit_marts`: failed expectations go to the platform channel
    (MEDIA_PLATFORM_ALERT_CHANNEL); repeats within the quiet period are one incident."""
    ti = _get(context, "ti") or _get(context, "task_instance")
    dag_id, run_id = getattr(ti, "dag_id", None), getattr(ti, "run_id", None)
    notify(
        Alert(
            kind=AlertKind.AUDIT_FAILED,
            summary=f"Audit failed: {dag_id}.{getattr(ti, 'task_id', 'audit_marts')} (reporting left unchanged)",
            detail=f"Run {run_id}: {_get(context, 'exception')}",
            channel=platform_channel(),
            incident_key=f"audit_failed:{dag_id}",
            dag_id=dag_id,
            run_id=run_id,
        )
    )


async def deadline_missed(
    *, context: Any = None, channel: str, dag_id: str, deadline: str, provider_id: str | None = None
) -> str:
    """Deadline-alert AsyncCallback (runs in the triggerer): the run was not done `deadline` after being queued.

    A run that already finished does not alert (apache/airflow#60927: Airflow prunes the deadline of a successful
    run only, so a failed run's deadline still fires; its failure alert has gone out already). The run's state is
    asked of the API server at callback time, falling back to the state the scheduler saw at the miss."""
    run = _get(context, "dag_run") or {}
    run_id = run.get("dag_run_id") or run.get("run_id")
    state = await _current_run_state(dag_id, run_id) or run.get("state")
    if state in FINISHED_STATES:
        log.info("deadline of %s run %s passed after the run finished (%s): no alert", dag_id, run_id, state)
        return f"not sent: run {state}"
    outcome: Outcome = await anotify(
        Alert(
            kind=AlertKind.DEADLINE_MISSED,
            summary=f"Deadline missed: {dag_id}",
            detail=f"Run {run_id} of {dag_id} was not finished within {deadline} of being queued (state {state}).",
            channel=channel,
            incident_key=f"deadline_missed:{dag_id}:{run_id}",
            provider_id=provider_id,
            dag_id=dag_id,
            run_id=run_id,
        )
    )
    return outcome.delivered_to


async def _current_run_state(dag_id: str, run_id: str | None) -> str | None:
    """The run's state now, through the triggerer's Task SDK channel; None outside a triggerer or on error."""
    if not run_id:
        return None
    import asyncio

    from airflow.sdk.execution_time import task_runner

    if getattr(task_runner, "SUPERVISOR_COMMS", None) is None:
        return None
    try:
        state = await asyncio.to_thread(task_runner.RuntimeTaskInstance.get_dagrun_state, dag_id, run_id)
    except Exception:  # noqa: BLE001 - the scheduler's view of the state is the fallback
        log.warning("could not read the state of %s run %s", dag_id, run_id, exc_info=True)
        return None
    return str(getattr(state, "value", state)) if state else None


def _get(context: Any, key: str) -> Any:
    if context is None:
        return None
    return context.get(key) if hasattr(context, "get") else getattr(context, key, None)
