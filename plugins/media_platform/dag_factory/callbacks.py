"""How DAGs reach their alert channel: the deadline alert, the task-failure and audit-failure callbacks, the guard."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any

from media_platform.config.provider import ProviderConfig


def deadline_alert(config: ProviderConfig, dag_id: str) -> Any:
    """Airflow 3 deadline alert (successor of SLA misses): the run must finish within `deadline` of being queued.
    An AsyncCallback, so the triggerer sends it (a SyncCallback does not run under the KubernetesExecutor,
    apache/airflow#62887)."""
    from airflow.sdk.definitions.callback import AsyncCallback
    from airflow.sdk.definitions.deadline import DeadlineAlert, DeadlineReference

    from media_platform.notifications.alert_callbacks import deadline_missed

    return DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=timedelta(minutes=config.deadline_minutes),
        # Given as the function, so Airflow records its dotted path and a move cannot leave a stale string.
        callback=AsyncCallback(
            deadline_missed,
            kwargs={
                "channel": config.alert_channel,
                "dag_id": dag_id,
                "deadline": config.deadline,
                "provider_id": config.provider_id,
            },
        ),
        name=f"{dag_id}_deadline",
    )


def failure_callback(config: ProviderConfig) -> Any:
    """on_failure_callback for every task of a provider DAG: the failure goes to the provider's alert channel."""
    from media_platform.notifications.alert_callbacks import task_failed

    return partial(task_failed, channel=config.alert_channel, provider_id=config.provider_id)


def audit_failure_callback() -> Any:
    """on_failure_callback of the marts' audit: failed expectations go to the platform's alert channel."""
    from media_platform.notifications.alert_callbacks import audit_failed

    return audit_failed


def deadline_guard_callback() -> Any:
    """on_execute_callback of a provider run's first task: alerts on active runs that lost their deadline record."""
    from media_platform.notifications.deadline_guard import deadline_guard

    return deadline_guard
