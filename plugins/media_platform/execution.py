"""The extract_load task: the ingest CLI in a Kubernetes pod, or as a local subprocess with the same arguments."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException

from media_platform.config import PodConfig, ProviderConfig
from media_platform.constants import ExecutionMode, PickBy, Transport
from media_platform.settings import INCLUDE_DIR, env_choice, execution_mode_from_env
from media_platform.warehouse import resolve_warehouse_dsn

if TYPE_CHECKING:
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
    from airflow.sdk import Context
    from kubernetes.client import models as k8s

INGEST_ENTRYPOINT = ("python", "-m", "ingest")
KPO_SUMMARY_FILE = "/airflow/xcom/return.json"
INTERVAL_START = "{{ data_interval_start.isoformat() }}"
INTERVAL_END = "{{ data_interval_end.isoformat() }}"
# Worker variables the local child may see; everything else (Airflow's own settings included) stays out, like in a pod.
_LOCAL_PASSTHROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "SYSTEMROOT", "MEDIA_DROP_ROOT")
_JINJA_MARKERS = ("{{", "{%", "{#")
_TAIL_LINES = 20


def ingest_arguments(config: ProviderConfig) -> list[str]:
    """The CLI arguments after `python -m ingest`, the data interval as Jinja templates; both paths use this list."""
    fixed = {
        "--provider": config.provider_id,
        "--format": config.format.value,
        "--location": config.source.location,
        "--file-glob": config.source.file_glob,
        "--date-in-path": config.source.date_in_path,
    }
    for flag, value in fixed.items():
        if any(marker in value for marker in _JINJA_MARKERS):
            raise ValueError(
                f"{config.provider_id}: {flag} value {value!r} contains Jinja markup, which would be rendered"
            )
    source = config.source
    if config.format_options:
        fixed["--format-options"] = json.dumps(config.format_options, sort_keys=True)
    if source.pick_by is not PickBy.PATH_DATE:
        fixed["--pick-by"] = source.pick_by.value.replace("_", "-")
    if source.api is not None:
        fixed["--source-kind"] = "api"
        fixed["--api-paging"] = source.api.paging
        if source.api.options:
            fixed["--api-options"] = json.dumps(source.api.options, sort_keys=True)
    interval = ["--start", INTERVAL_START, "--end", INTERVAL_END]
    return ["run", *(item for pair in fixed.items() for item in pair), *interval]


def _cpu_limit(request: str, factor: int) -> str:
    from kubernetes.utils import parse_quantity

    return f"{int(parse_quantity(request) * 1000 * factor)}m"


def _parse_workers(cpu_limit: str) -> str:
    """The ingest parser processes (INGEST_PARSE_WORKERS) for a pod's CPU limit: one per whole CPU, at least one.
    Inside the pod the node's CPUs are visible, not the limit, so the CLI cannot find this out itself."""
    from kubernetes.utils import parse_quantity

    return str(max(1, int(parse_quantity(cpu_limit))))


@dataclass(frozen=True)
class PodDefaults:
    """What every ingest pod shares; a provider's YAML only overrides cpu, memory and image.

    Limits: memory limit = memory request (the pod is never OOM-killed for using what it asked for, and never
    over-commits a node); cpu limit = cpu_limit_factor x cpu request, so XML parsing can burst without starving
    neighbours.
    """

    namespace: str = "media-data"
    image: str = "media-asset-platform:latest"
    service_account_name: str = "media-ingest"
    image_pull_policy: str = "IfNotPresent"
    drop_root: str = "/data/drop"
    drop_claim: str | None = None
    in_cluster: bool = True
    kubernetes_conn_id: str | None = None
    run_as_user: int = 50000
    run_as_group: int = 50000
    fs_group: int = 50000
    cpu_limit_factor: int = 2
    tmp_size_limit: str = "1Gi"
    startup_timeout_seconds: int = 600
    app_label: str = "media-ingest"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> PodDefaults:
        """Defaults overridden by MEDIA_K8S_* / MEDIA_INGEST_IMAGE variables; environment only, no DB at parse time."""
        env = os.environ if environ is None else environ
        base = cls()
        in_cluster = env_choice("MEDIA_K8S_IN_CLUSTER", "true", ("true", "false", "1", "0", "yes", "no"), env)
        return cls(
            namespace=env.get("MEDIA_K8S_NAMESPACE") or base.namespace,
            image=env.get("MEDIA_INGEST_IMAGE") or base.image,
            service_account_name=env.get("MEDIA_K8S_SERVICE_ACCOUNT") or base.service_account_name,
            drop_root=env.get("MEDIA_K8S_DROP_ROOT") or base.drop_root,
            drop_claim=env.get("MEDIA_K8S_DROP_CLAIM") or None,
            in_cluster=in_cluster in ("true", "1", "yes"),
            kubernetes_conn_id=env.get("MEDIA_K8S_CONN_ID") or None,
        )

    def pod_security_context(self) -> k8s.V1PodSecurityContext:
        from kubernetes.client import models as k8s

        return k8s.V1PodSecurityContext(
            run_as_non_root=True,
            run_as_user=self.run_as_user,
            run_as_group=self.run_as_group,
            fs_group=self.fs_group,
            seccomp_profile=k8s.V1SeccompProfile(type="RuntimeDefault"),
        )

    def container_security_context(self) -> k8s.V1SecurityContext:
        from kubernetes.client import models as k8s

        return k8s.V1SecurityContext(
            run_as_non_root=True,
            run_as_user=self.run_as_user,
            allow_privilege_escalation=False,
            read_only_root_filesystem=True,
            capabilities=k8s.V1Capabilities(drop=["ALL"]),
            seccomp_profile=k8s.V1SeccompProfile(type="RuntimeDefault"),
        )

    def resources(self, pod: PodConfig) -> k8s.V1ResourceRequirements:
        from kubernetes.client import models as k8s

        return k8s.V1ResourceRequirements(
            requests={"cpu": pod.cpu, "memory": pod.memory},
            limits={"cpu": _cpu_limit(pod.cpu, self.cpu_limit_factor), "memory": pod.memory},
        )

    def volumes(self) -> tuple[list[k8s.V1Volume], list[k8s.V1VolumeMount]]:
        """An emptyDir at /tmp (the root filesystem is read-only) and, if configured, the drop claim read-only."""
        from kubernetes.client import models as k8s

        volumes = [k8s.V1Volume(name="tmp", empty_dir=k8s.V1EmptyDirVolumeSource(size_limit=self.tmp_size_limit))]
        mounts = [k8s.V1VolumeMount(name="tmp", mount_path="/tmp")]
        if self.drop_claim:
            claim = k8s.V1PersistentVolumeClaimVolumeSource(claim_name=self.drop_claim, read_only=True)
            volumes.append(k8s.V1Volume(name="drop", persistent_volume_claim=claim))
            mounts.append(k8s.V1VolumeMount(name="drop", mount_path=self.drop_root, read_only=True))
        return volumes, mounts


def build_kubernetes_task(
    config: ProviderConfig, task_id: str = "extract_load", defaults: PodDefaults | None = None
) -> KubernetesPodOperator:
    """The ingest CLI in a locked-down pod; its summary JSON becomes the task's XCom. Retries come from default_args."""
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
    from kubernetes.client import models as k8s

    pod = defaults or PodDefaults.from_env()
    volumes, volume_mounts = pod.volumes()
    resources = pod.resources(config.pod)
    return KubernetesPodOperator(
        task_id=task_id,
        name=f"ingest-{config.provider_id.replace('_', '-')}",
        namespace=pod.namespace,
        image=config.pod.image or pod.image,
        image_pull_policy=pod.image_pull_policy,
        service_account_name=pod.service_account_name,
        cmds=list(INGEST_ENTRYPOINT),
        arguments=[*ingest_arguments(config), "--summary-file", KPO_SUMMARY_FILE],
        env_vars={
            "MEDIA_DROP_ROOT": pod.drop_root,
            "INGEST_PARSE_WORKERS": _parse_workers(resources.limits["cpu"]),
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
        },
        env_from=[k8s.V1EnvFromSource(secret_ref=k8s.V1SecretEnvSource(name=name)) for name in config.secrets],
        container_resources=resources,
        security_context=pod.pod_security_context(),
        container_security_context=pod.container_security_context(),
        xcom_sidecar_container_security_context=pod.container_security_context(),
        volumes=volumes,
        volume_mounts=volume_mounts,
        labels={"app": pod.app_label, "provider": config.provider_id},
        annotations={
            "media-platform/provider": config.display_name,
            "media-platform/owner": config.owner,
            "cluster-autoscaler.kubernetes.io/safe-to-evict": "false",
        },
        in_cluster=pod.in_cluster,
        kubernetes_conn_id=pod.kubernetes_conn_id,
        do_xcom_push=True,
        get_logs=True,
        log_events_on_failure=True,
        on_finish_action="delete_pod",
        startup_timeout_seconds=pod.startup_timeout_seconds,
        durable=True,
    )


def local_ingest_env(dsn: str, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The child's environment: what the pod would get (DSN, drop root), plus PATH/locale and include/ on PYTHONPATH."""
    source = os.environ if environ is None else environ
    env = {key: source[key] for key in _LOCAL_PASSTHROUGH if key in source}
    python_path = [str(INCLUDE_DIR), *filter(None, source.get("PYTHONPATH", "").split(os.pathsep))]
    env.update(WAREHOUSE_DSN=dsn, PYTHONPATH=os.pathsep.join(python_path), PYTHONUNBUFFERED="1")
    return env


def run_streaming(
    command: Sequence[str],
    env: Mapping[str, str],
    log_line: Callable[[str], None],
    on_start: Callable[[subprocess.Popen[str]], None] | None = None,
) -> list[str]:
    """Run command, pass each output line to log_line as it comes; on failure raise with exit code and last lines."""
    tail: deque[str] = deque(maxlen=_TAIL_LINES)
    with subprocess.Popen(
        list(command),
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        errors="replace",
        bufsize=1,
    ) as process:
        if on_start:
            on_start(process)
        assert process.stdout is not None
        for raw in process.stdout:
            line = raw.rstrip("\n")
            tail.append(line)
            log_line(line)
        code = process.wait()
    if code != 0:
        last = "\n".join(tail)
        raise AirflowException(f"{command[0]} exited with code {code}; last {len(tail)} lines:\n{last}")
    return list(tail)


def read_summary(summary_file: Path, tail: Sequence[str]) -> dict[str, Any]:
    """The summary the CLI wrote to --summary-file, else the last JSON object line it printed."""
    if summary_file.exists() and summary_file.stat().st_size:
        return dict(json.loads(summary_file.read_text(encoding="utf-8")))
    for line in reversed(tail):
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    raise AirflowException(f"ingest exited 0 but wrote no summary to {summary_file} and printed no JSON line")


def ingest_command(arguments: Sequence[str], summary_file: Path) -> list[str]:
    """The pod's command and arguments, run by this worker's interpreter instead of the image's `python`."""
    return [sys.executable, *INGEST_ENTRYPOINT[1:], *arguments, "--summary-file", str(summary_file)]


def run_ingest_subprocess(
    arguments: Sequence[str],
    env: Mapping[str, str],
    log_line: Callable[[str], None] = print,
    on_start: Callable[[subprocess.Popen[str]], None] | None = None,
) -> dict[str, Any]:
    """`python -m ingest <arguments> --summary-file <tmp>` with this interpreter; returns the parsed summary."""
    with tempfile.TemporaryDirectory(prefix="ingest-") as tmp:
        summary_file = Path(tmp) / "summary.json"
        tail = run_streaming(ingest_command(arguments, summary_file), env, log_line, on_start)
        return read_summary(summary_file, tail)


class LocalIngestOperator(BaseOperator):
    """Runs the ingest CLI as a subprocess of the worker, with the warehouse DSN from the `warehouse` connection."""

    template_fields: Sequence[str] = ("arguments",)
    ui_color = "#e8f4ea"

    def __init__(
        self, *, arguments: list[str], transport: Transport = Transport.LOCAL, credentials_conn_id: str | None = None,
        **kwargs: Any,
    ) -> None:  # fmt: skip
        super().__init__(**kwargs)
        self.arguments = arguments
        self.transport = transport
        self.credentials_conn_id = credentials_conn_id
        self._process: subprocess.Popen[str] | None = None

    def execute(self, context: Context) -> dict[str, Any]:
        from media_platform.credentials import transport_env

        env = local_ingest_env(resolve_warehouse_dsn())
        env.update(transport_env(self.transport, self.credentials_conn_id))
        return run_ingest_subprocess(self.arguments, env, lambda line: self.log.info("%s", line), self._remember)

    def _remember(self, process: subprocess.Popen[str]) -> None:
        self._process = process

    def on_kill(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()


def build_local_task(config: ProviderConfig, task_id: str = "extract_load") -> LocalIngestOperator:
    """The ingest CLI as a local subprocess: for laptops and CI, where there is no cluster."""
    return LocalIngestOperator(
        task_id=task_id,
        arguments=ingest_arguments(config),
        transport=config.source.transport,
        credentials_conn_id=config.source.credentials_conn_id,
    )


def build_extract_load_task(
    config: ProviderConfig, mode: ExecutionMode | None = None, task_id: str = "extract_load"
) -> BaseOperator:
    """The extract_load task for the mode given, else for MEDIA_EXECUTION_MODE (default local)."""
    if ExecutionMode(mode or execution_mode_from_env()) is ExecutionMode.KUBERNETES:
        return build_kubernetes_task(config, task_id)
    return build_local_task(config, task_id)
