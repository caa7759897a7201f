"""The extract_load task of a provider DAG: in a Kubernetes pod or as a local subprocess, by MEDIA_EXECUTION_MODE."""

from __future__ import annotations

from airflow.sdk import BaseOperator

from media_platform.config.constants import ExecutionMode
from media_platform.config.provider import ProviderConfig
from media_platform.config.settings import execution_mode_from_env
from media_platform.tasks.ingest_local import build_local_task
from media_platform.tasks.ingest_pod import build_kubernetes_task


def build_extract_load_task(
    config: ProviderConfig, mode: ExecutionMode | None = None, task_id: str = "extract_load"
) -> BaseOperator:
    """The extract_load task for the mode given, else for MEDIA_EXECUTION_MODE (default local)."""
    if ExecutionMode(mode or execution_mode_from_env()) is ExecutionMode.KUBERNETES:
        return build_kubernetes_task(config, task_id)
    return build_local_task(config, task_id)
