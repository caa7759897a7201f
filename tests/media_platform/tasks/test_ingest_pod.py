"""The ingest pod: the real KubernetesPodOperator pod request, its security, resources, secrets and settings."""

from __future__ import annotations

import json

import pytest
from airflow.sdk import DAG
from ingest_cases import EXPECTED_ARGS, kubernetes_task, rendered_pod
from kubernetes.client import ApiClient

from media_platform.config.constants import ExecutionMode
from media_platform.config.provider import PodConfig, ProviderConfig
from media_platform.config.settings import SettingsError
from media_platform.tasks.extract_load import build_extract_load_task
from media_platform.tasks.ingest_pod import KPO_SUMMARY_FILE, build_kubernetes_task

SECRET_PASSWORD = "s3cr3t-Ingest-pw"


@pytest.fixture()
def credentials_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials the scheduler could see at parse time; none of them may reach the pod spec."""
    dsn = f"postgresql://ingest:{SECRET_PASSWORD}@db.internal:5432/warehouse"
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", dsn)
    monkeypatch.setenv("WAREHOUSE_DSN", dsn)
    monkeypatch.setenv("WAREHOUSE_PASSWORD", SECRET_PASSWORD)


def test_pod_runs_the_ingest_cli_for_the_data_interval(config: ProviderConfig, monkeypatch: pytest.MonkeyPatch):
    pod = rendered_pod(kubernetes_task(config, monkeypatch))
    base = pod.spec.containers[0]
    assert pod.metadata.namespace == "media-data"
    assert base.image == "media-asset-platform:latest"
    assert base.image_pull_policy == "IfNotPresent"
    assert base.command == ["python", "-m", "ingest"]
    assert base.args == [*EXPECTED_ARGS, "--summary-file", KPO_SUMMARY_FILE]
    assert pod.spec.service_account_name == "media-ingest"
    assert pod.spec.restart_policy == "Never"
    assert {e.name: e.value for e in base.env}["MEDIA_DROP_ROOT"] == "/data/drop"


def test_pod_resources_come_from_the_provider_yaml(config: ProviderConfig, monkeypatch: pytest.MonkeyPatch):
    base = rendered_pod(kubernetes_task(config, monkeypatch)).spec.containers[0]
    assert base.resources.requests == {"cpu": "500m", "memory": "512Mi"}
    assert base.resources.limits == {"cpu": "1000m", "memory": "512Mi"}
    assert {e.name: e.value for e in base.env}["INGEST_PARSE_WORKERS"] == "1"  # one parser process per limit CPU


@pytest.mark.parametrize(("cpu", "workers"), [("250m", "1"), ("1", "2"), ("1500m", "3"), ("2", "4")])
def test_parser_processes_follow_the_pod_s_cpu_limit(
    config: ProviderConfig, monkeypatch: pytest.MonkeyPatch, cpu: str, workers: str
):
    bigger = config.model_copy(update={"pod": config.pod.model_copy(update={"cpu": cpu})})
    base = rendered_pod(kubernetes_task(bigger, monkeypatch)).spec.containers[0]
    assert {e.name: e.value for e in base.env}["INGEST_PARSE_WORKERS"] == workers


def test_pod_runs_as_non_root_with_a_read_only_root(config: ProviderConfig, monkeypatch: pytest.MonkeyPatch):
    pod = rendered_pod(kubernetes_task(config, monkeypatch))
    assert pod.spec.security_context.run_as_non_root is True
    assert pod.spec.security_context.run_as_user == 50000
    assert pod.spec.security_context.fs_group == 50000
    assert pod.spec.security_context.seccomp_profile.type == "RuntimeDefault"
    assert [c.name for c in pod.spec.containers] == ["base", "airflow-xcom-sidecar"]
    for container in pod.spec.containers:
        context = container.security_context
        assert context.run_as_non_root is True
        assert context.allow_privilege_escalation is False
        assert context.read_only_root_filesystem is True
        assert context.capabilities.drop == ["ALL"]
        assert context.seccomp_profile.type == "RuntimeDefault"
    tmp = next(v for v in pod.spec.volumes if v.name == "tmp")
    assert tmp.empty_dir is not None
    assert {m.mount_path for m in pod.spec.containers[0].volume_mounts} == {"/tmp", "/airflow/xcom"}


def test_pod_gets_secrets_by_reference_only(
    config: ProviderConfig, monkeypatch: pytest.MonkeyPatch, credentials_in_env: None
):
    pod = rendered_pod(kubernetes_task(config, monkeypatch))
    base = pod.spec.containers[0]
    assert [source.secret_ref.name for source in base.env_from] == ["warehouse-ingest-writer"]  # no YAML secret
    assert {e.name for e in base.env} == {
        "MEDIA_DROP_ROOT", "INGEST_PARSE_WORKERS", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE"
    }  # fmt: skip
    spec = json.dumps(ApiClient().sanitize_for_serialization(pod))
    for leaked in (SECRET_PASSWORD, "postgresql://", "WAREHOUSE_DSN", "db.internal"):
        assert leaked not in spec


def test_pod_labels_annotations_and_lifecycle(config: ProviderConfig, monkeypatch: pytest.MonkeyPatch):
    op = kubernetes_task(config, monkeypatch)
    pod = rendered_pod(op)
    assert pod.metadata.labels["app"] == "media-ingest"
    assert pod.metadata.labels["provider"] == "demo_adi"
    assert pod.metadata.name.startswith("ingest-demo-adi-")
    assert pod.metadata.annotations["media-platform/owner"] == "content-ops"
    assert op.do_xcom_push is True
    assert op.get_logs is True
    assert op.on_finish_action.value == "delete_pod"
    assert op.durable is True
    assert op.in_cluster is True
    assert op.kubernetes_conn_id is None
    assert op.startup_timeout_seconds == 600


def test_retries_come_from_the_dag_default_args(config: ProviderConfig):
    with DAG("ingest_demo_adi", schedule=None, default_args={"retries": 4}):
        op = build_extract_load_task(config, ExecutionMode.KUBERNETES)
    assert op.retries == 4


def test_provider_pod_overrides_and_environment_settings(config: ProviderConfig, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MEDIA_K8S_NAMESPACE", "media-prod")
    monkeypatch.setenv("MEDIA_INGEST_IMAGE", "registry.example/media-asset-platform:1.4.0")
    monkeypatch.setenv("MEDIA_K8S_IN_CLUSTER", "false")
    monkeypatch.setenv("MEDIA_K8S_CONN_ID", "kubernetes_prod")
    monkeypatch.setenv("MEDIA_K8S_DROP_CLAIM", "media-drop")
    big = config.model_copy(update={"pod": PodConfig(cpu="1.5", memory="4Gi", image="registry.example/ingest:2.0")})
    op = build_kubernetes_task(big)
    assert op.in_cluster is False
    assert op.kubernetes_conn_id == "kubernetes_prod"
    op.kubernetes_conn_id = None  # the pod request would otherwise look the connection up
    pod = rendered_pod(op)
    base = pod.spec.containers[0]
    assert pod.metadata.namespace == "media-prod"
    assert base.image == "registry.example/ingest:2.0"
    assert base.resources.requests == {"cpu": "1.5", "memory": "4Gi"}
    assert base.resources.limits == {"cpu": "3000m", "memory": "4Gi"}
    drop = next(m for m in base.volume_mounts if m.name == "drop")
    assert (drop.mount_path, drop.read_only) == ("/data/drop", True)
    assert build_kubernetes_task(config).image == "registry.example/media-asset-platform:1.4.0"


def test_invalid_in_cluster_setting_is_named(config: ProviderConfig, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MEDIA_K8S_IN_CLUSTER", "maybe")
    with pytest.raises(SettingsError, match="MEDIA_K8S_IN_CLUSTER"):
        build_kubernetes_task(config)


def test_pod_gets_ingest_writer_s_warehouse_secret_and_the_transport_s_only(
    config: ProviderConfig, monkeypatch: pytest.MonkeyPatch, credentials_in_env: None
):
    """The platform's other warehouse roles (transformer, publisher, reporting_reader) run in Airflow only: their
    passwords, connections and names never appear in a pod, whatever the scheduler's environment holds."""
    for role in ("TRANSFORMER", "PUBLISHER", "REPORTING_READER", "INGEST_WRITER"):
        monkeypatch.setenv(f"WAREHOUSE_{role}_PASSWORD", f"pw-of-{role.lower()}")
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE_PUBLISH", "postgresql://publisher:pw-of-publisher@db.internal/wh")
    with_transport = config.model_copy(update={"secrets": ("demo-mec-s3", "warehouse-ingest-writer")})
    pod = rendered_pod(kubernetes_task(with_transport, monkeypatch))
    base = pod.spec.containers[0]
    assert [source.secret_ref.name for source in base.env_from] == ["warehouse-ingest-writer", "demo-mec-s3"]
    spec = json.dumps(ApiClient().sanitize_for_serialization(pod))
    for leaked in ("transformer", "publisher", "reporting_reader", "pw-of-", "WAREHOUSE_PUBLISH"):
        assert leaked not in spec
    monkeypatch.setenv("MEDIA_K8S_WAREHOUSE_SECRET", "wh-ingest")
    renamed = rendered_pod(kubernetes_task(config, monkeypatch)).spec.containers[0]
    assert [source.secret_ref.name for source in renamed.env_from] == ["wh-ingest"]
