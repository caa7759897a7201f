"""The extract_load task in Kubernetes: the ingest CLI in a locked-down pod, its defaults defined once."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ingest import contract
from media_platform.config.provider import PodConfig, ProviderConfig
from media_platform.config.settings import env_choice
from media_platform.tasks.ingest_cli import INGEST_ENTRYPOINT, ingest_arguments

if TYPE_CHECKING:
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
    from kubernetes.client import models as k8s

KPO_SUMMARY_FILE = "/airflow/xcom/return.json"


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
    # The one warehouse secret a pod gets: WAREHOUSE_DSN of the role `ingest_writer` (writes raw, reads nothing
    # else; media_platform.warehouse.roles). The other roles' credentials never reach a pod.
    warehouse_secret: str = "warehouse-ingest-writer"

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
            warehouse_secret=env.get("MEDIA_K8S_WAREHOUSE_SECRET") or base.warehouse_secret,
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
        arguments=[*ingest_arguments(config), contract.Flag.SUMMARY_FILE.value, KPO_SUMMARY_FILE],
        env_vars={
            contract.DROP_ROOT_ENV: pod.drop_root,
            contract.PARSE_WORKERS_ENV: _parse_workers(resources.limits["cpu"]),
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
        },
        env_from=[
            k8s.V1EnvFromSource(secret_ref=k8s.V1SecretEnvSource(name=name))
            for name in dict.fromkeys((pod.warehouse_secret, *config.secrets))
        ],
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
