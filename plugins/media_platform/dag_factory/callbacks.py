"""How a provider DAG reaches its alert channel: the deadline alert and the task-failure callback."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any

from media_platform.config.provider import ProviderConfig


def deadline_alert(config: ProviderConfig, dag_id: str) -> Any:
    """Airflow 3 deadline alert (successor of SLA misses): the run must finish within `deadline` of being queued."""
    from airflow.sdk.definitions.callback import SyncCallback
    from airflow.sdk.definitions.deadline import DeadlineAlert, DeadlineReference

    from media_platform.tasks.alerts import deadline_missed

    return DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=timedelta(minutes=config.deadline_minutes),
        # Given as the function, so Airflow records its dotted path and a move of alerts cannot leave a stale string.
        callback=SyncCallback(
            deadline_missed,
            kwargs={"channel": config.alert_channel, "dag_id": dag_id, "deadline": config.deadline},
        ),
        name=f"{dag_id}_deadline",
    )


def failure_callback(config: ProviderConfig) -> Any:
    """on_failure_callback for every task of a provider DAG: the failure goes to the provider's alert channel."""
    from media_platform.tasks.alerts import task_failed

    return partial(task_failed, channel=config.alert_channel)
