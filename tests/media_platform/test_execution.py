"""The extract_load task: the real KubernetesPodOperator pod request, the local operator and the mode switch."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pendulum
import psycopg2.extensions
import pytest
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.sdk import DAG, Connection
from airflow.sdk.exceptions import AirflowException
from kubernetes.client import ApiClient
from kubernetes.client import models as k8s

from media_platform.config import PodConfig, ProviderConfig, load_provider_config
from media_platform.constants import EXECUTION_MODE_ENV, ExecutionMode
from media_platform.execution import (
    INCLUDE_DIR,
    KPO_SUMMARY_FILE,
    LocalIngestOperator,
    build_extract_load_task,
    build_kubernetes_task,
    build_local_task,
    ingest_command,
    local_ingest_env,
    read_summary,
    run_streaming,
)
from media_platform.settings import SettingsError
from media_platform.warehouse import resolve_warehouse_dsn, warehouse_dsn

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SECRET_PASSWORD = "s3cr3t-Ingest-pw"
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


@pytest.fixture(autouse=True)
def clean_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts from the defaults, whatever the developer's shell exports."""
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture()
def config() -> ProviderConfig:
    return load_provider_config(PROJECT_ROOT / "include" / "providers" / "demo_adi.yaml")


@pytest.fixture()
def credentials_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials the scheduler could see at parse time; none of them may reach the pod spec."""
    dsn = f"postgresql://ingest:{SECRET_PASSWORD}@db.internal:5432/warehouse"
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", dsn)
    monkeypatch.setenv("WAREHOUSE_DSN", dsn)
    monkeypatch.setenv("WAREHOUSE_PASSWORD", SECRET_PASSWORD)


def rendered_pod(op: KubernetesPodOperator) -> k8s.V1Pod:
    """The V1Pod the operator would submit for the 2026-11-02 interval, built offline by the provider itself."""
    op.render_template_fields(INTERVAL)  # type: ignore[arg-type]
    return op.build_pod_request_obj(dry_run=True)


def kubernetes_task(config: ProviderConfig, monkeypatch: pytest.MonkeyPatch) -> KubernetesPodOperator:
    monkeypatch.setenv(EXECUTION_MODE_ENV, "kubernetes")
    op = build_extract_load_task(config)
    assert isinstance(op, KubernetesPodOperator)
    return op


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
    assert [source.secret_ref.name for source in base.env_from] == list(config.secrets) == ["warehouse-credentials"]
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


@pytest.mark.parametrize("value", [None, "", "local", "LOCAL"])
def test_local_mode_is_the_default(config: ProviderConfig, monkeypatch: pytest.MonkeyPatch, value: str | None):
    if value is not None:
        monkeypatch.setenv(EXECUTION_MODE_ENV, value)
    op = build_extract_load_task(config)
    assert isinstance(op, LocalIngestOperator)
    assert op.task_id == "extract_load"


def test_explicit_mode_wins_over_the_environment(config: ProviderConfig, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(EXECUTION_MODE_ENV, "kubernetes")
    assert isinstance(build_extract_load_task(config, ExecutionMode.LOCAL), LocalIngestOperator)


def test_invalid_mode_names_the_variable_and_the_choices(config: ProviderConfig, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(EXECUTION_MODE_ENV, "docker")
    with pytest.raises(SettingsError, match=r"MEDIA_EXECUTION_MODE='docker'.*kubernetes, local"):
        build_extract_load_task(config)


def test_invalid_in_cluster_setting_is_named(config: ProviderConfig, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MEDIA_K8S_IN_CLUSTER", "maybe")
    with pytest.raises(SettingsError, match="MEDIA_K8S_IN_CLUSTER"):
        build_kubernetes_task(config)


def test_local_command_is_the_pod_command(config: ProviderConfig, monkeypatch: pytest.MonkeyPatch):
    kpo = kubernetes_task(config, monkeypatch)
    local = build_local_task(config)
    assert local.template_fields == ("arguments",)
    kpo.render_template_fields(INTERVAL)  # type: ignore[arg-type]
    local.render_template_fields(INTERVAL)  # type: ignore[arg-type]
    assert local.arguments == EXPECTED_ARGS
    command = ingest_command(local.arguments, Path(KPO_SUMMARY_FILE))
    assert command[0] == sys.executable
    assert command[1:] == [*kpo.cmds, *kpo.arguments][1:]


def test_jinja_markup_in_config_values_is_refused(config: ProviderConfig):
    odd = config.model_copy(update={"source": config.source.model_copy(update={"file_glob": "{{ ds }}.xml"})})
    with pytest.raises(ValueError, match="--file-glob"):
        build_local_task(odd)


def test_warehouse_connection_becomes_a_libpq_url():
    conn = Connection(
        conn_id="warehouse",
        conn_type="postgres",
        host="db.internal",
        port=5433,
        login="ingest",
        password="p@ss:w/rd",
        schema="warehouse",
        extra=json.dumps({"sslmode": "require", "cursor": "dictcursor"}),
    )
    dsn = warehouse_dsn(conn)
    assert dsn == "postgresql://ingest:p%40ss%3Aw%2Frd@db.internal:5433/warehouse?sslmode=require"
    parsed = psycopg2.extensions.parse_dsn(dsn)
    assert parsed == {
        "user": "ingest",
        "password": "p@ss:w/rd",
        "host": "db.internal",
        "port": "5433",
        "dbname": "warehouse",
        "sslmode": "require",
    }


def test_warehouse_dsn_is_resolved_through_the_task_sdk(monkeypatch: pytest.MonkeyPatch):
    conn = {"conn_type": "postgres", "login": "ingest", "password": SECRET_PASSWORD, "host": "db", "schema": "wh"}
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", json.dumps(conn))
    assert resolve_warehouse_dsn() == f"postgresql://ingest:{SECRET_PASSWORD}@db/wh"


def test_local_env_mirrors_the_pod_not_the_worker():
    worker = {
        "PATH": "/usr/bin",
        "MEDIA_DROP_ROOT": "/srv/drop",
        "PYTHONPATH": "/opt/extra",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql://airflow:pw@meta/airflow",
        "AIRFLOW_CONN_WAREHOUSE": "postgresql://x:y@z/w",
    }
    env = local_ingest_env("postgresql://ingest@db/wh", worker)
    assert env == {
        "PATH": "/usr/bin",
        "MEDIA_DROP_ROOT": "/srv/drop",
        "PYTHONPATH": f"{INCLUDE_DIR}:/opt/extra",
        "WAREHOUSE_DSN": "postgresql://ingest@db/wh",
        "PYTHONUNBUFFERED": "1",
    }
    assert INCLUDE_DIR == PROJECT_ROOT / "include"


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_output_is_streamed_while_the_child_runs(tmp_path: Path):
    ack = tmp_path / "ack"
    code = (
        "import pathlib, sys, time\n"
        "print('first', flush=True)\n"
        "print('to stderr', file=sys.stderr, flush=True)\n"
        f"ack = pathlib.Path({str(ack)!r})\n"
        "deadline = time.time() + 20\n"
        "while not ack.exists() and time.time() < deadline: time.sleep(0.05)\n"
        "print('saw ack' if ack.exists() else 'no ack: output was buffered')\n"
    )
    lines: list[str] = []

    def log_line(line: str) -> None:
        lines.append(line)
        if line == "first":
            ack.touch()

    run_streaming(python(code), {}, log_line)
    assert lines == ["first", "to stderr", "saw ack"]


def test_failure_reports_exit_code_and_last_lines():
    code = "import sys\nfor i in range(30): print(f'line-{i}')\nprint('boom: no files', file=sys.stderr)\nsys.exit(3)"
    lines: list[str] = []
    with pytest.raises(AirflowException, match="exited with code 3") as failure:
        run_streaming(python(code), {"PYTHONUNBUFFERED": "1"}, lines.append)  # as local_ingest_env sets it
    message = str(failure.value)
    assert "boom: no files" in message and "line-29" in message
    assert "line-0\n" not in message
    assert len(lines) == 31


def test_summary_is_read_from_the_summary_file(tmp_path: Path):
    summary = tmp_path / "summary.json"
    payload: dict[str, Any] = {"provider": "demo_adi", "files": 2, "rows": 17}
    code = f"import json, sys\njson.dump({payload!r}, open(sys.argv[1], 'w'))\nprint('done')"
    tail = run_streaming([*python(code), str(summary)], {}, lambda line: None)
    assert read_summary(summary, tail) == payload


def test_summary_falls_back_to_the_last_json_line(tmp_path: Path):
    code = "print('loading'); print('{\"files\": 1}'); print('bye')"
    tail = run_streaming(python(code), {}, lambda line: None)
    assert read_summary(tmp_path / "missing.json", tail) == {"files": 1}
    with pytest.raises(AirflowException, match="no summary"):
        read_summary(tmp_path / "missing.json", ["plain text"])


def test_api_source_and_pick_by_reach_the_cli_arguments() -> None:
    from media_platform.execution import ingest_arguments

    base = load_provider_config(PROJECT_ROOT / "include" / "providers" / "demo_adi.yaml")
    config = base.model_copy(
        update={
            "source": base.source.model_validate(
                {
                    "transport": "api",
                    "location": "https://api.example/v1/titles",
                    "pick_by": "modified_time",
                    "api": {"paging": "page", "options": {"items_field": "data"}},
                }
            ),
            "format_options": {"items_field": "data"},
        }
    )
    args = ingest_arguments(config)
    pairs = dict(zip(args[1::2], args[2::2], strict=False))
    assert pairs["--source-kind"] == "api" and pairs["--api-paging"] == "page"
    assert pairs["--pick-by"] == "modified-time"
    assert pairs["--api-options"] == '{"items_field": "data"}'
    assert pairs["--format-options"] == '{"items_field": "data"}'
