"""What the extract_load tests share: the demo interval, the arguments it renders to, the pod as it is submitted."""

from __future__ import annotations

from pathlib import Path

import pendulum
import pytest
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from kubernetes.client import models as k8s

from media_platform.config.constants import EXECUTION_MODE_ENV
from media_platform.config.provider import ProviderConfig
from media_platform.tasks.extract_load import build_extract_load_task

PROJECT_ROOT = Path(__file__).resolve().parents[3]
SETTINGS = (
    EXECUTION_MODE_ENV,
    "MEDIA_K8S_NAMESPACE",
    "MEDIA_INGEST_IMAGE",
    "MEDIA_K8S_SERVICE_ACCOUNT",
    "MEDIA_K8S_DROP_ROOT",
    "MEDIA_K8S_DROP_CLAIM",
    "MEDIA_K8S_IN_CLUSTER",
    "MEDIA_K8S_CONN_ID",
)
INTERVAL = {
    "data_interval_start": pendulum.datetime(2026, 11, 2, tz="UTC"),
    "data_interval_end": pendulum.datetime(2026, 11, 3, tz="UTC"),
}
EXPECTED_ARGS = [
    "run",
    "--provider",
    "demo_adi",
    "--format",
    "adi",
    "--location",
    "demo_adi",
    "--file-glob",
    "*.xml",
    "--date-in-path",
    "%Y-%m-%d",
    "--start",
    "2026-11-02T00:00:00+00:00",
    "--end",
    "2026-11-03T00:00:00+00:00",
]


def rendered_pod(op: KubernetesPodOperator) -> k8s.V1Pod:
    """The V1Pod the operator would submit for the 2026-11-02 interval, built offline by the provider itself."""
    op.render_template_fields(INTERVAL)  # type: ignore[arg-type]
    return op.build_pod_request_obj(dry_run=True)


def kubernetes_task(config: ProviderConfig, monkeypatch: pytest.MonkeyPatch) -> KubernetesPodOperator:
    """The extract_load task as MEDIA_EXECUTION_MODE=kubernetes builds it: the pod operator."""
    monkeypatch.setenv(EXECUTION_MODE_ENV, "kubernetes")
    op = build_extract_load_task(config)
    assert isinstance(op, KubernetesPodOperator)
    return op
