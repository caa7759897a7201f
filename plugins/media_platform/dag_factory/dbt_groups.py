"""Cosmos configuration for the dbt project: built from a manifest made ahead of time, never `dbt ls` at parse time."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from media_platform.config.constants import WAREHOUSE_CONN_ID
from media_platform.config.dbt_manifest import ManifestMissingError
from media_platform.config.settings import PlatformSettings


def cosmos_profile_config() -> Any:
    """dbt profile from the Airflow connection `warehouse` (no profiles.yml with secrets in the image)."""
    from cosmos import ProfileConfig
    from cosmos.profiles import PostgresUserPasswordProfileMapping

    return ProfileConfig(
        profile_name="media_platform",
        target_name="airflow",
        profile_mapping=PostgresUserPasswordProfileMapping(
            conn_id=WAREHOUSE_CONN_ID, profile_args={"schema": "staging"}
        ),
    )


def cosmos_project_kwargs(settings: PlatformSettings) -> dict[str, Any]:
    """Arguments a standalone Cosmos operator needs to find the project and dbt."""
    return {"project_dir": str(settings.dbt_project_dir), "dbt_executable_path": str(settings.dbt_executable)}


def dbt_vars(providers: Iterable[str], **extra: str) -> dict[str, Any]:
    """The vars of every dbt invocation: the configured providers (the YAMLs), so that rows of any other provider id
    in raw never reach the marts, plus `extra` (a provider DAG's own `provider_id`). The same providers everywhere:
    the views are deployed with them."""
    return {"providers": sorted(providers), **extra}


def dbt_task_group(
    group_id: str, select: list[str], settings: PlatformSettings, vars: Mapping[str, Any], **kwargs: Any
) -> Any:
    """A Cosmos DbtTaskGroup running the selected models (each followed by its tests) against the warehouse."""
    from cosmos import DbtTaskGroup, ExecutionConfig, LoadMode, ProjectConfig, RenderConfig

    if not settings.dbt_manifest_path.exists():
        raise ManifestMissingError(
            f"{settings.dbt_manifest_path} not found: build it with `make dbt-manifest` (dbt parse) before parsing DAGs"
        )
    return DbtTaskGroup(
        group_id=group_id,
        project_config=ProjectConfig(
            dbt_project_path=settings.dbt_project_dir,
            manifest_path=settings.dbt_manifest_path,
            install_dbt_deps=False,
        ),
        profile_config=cosmos_profile_config(),
        execution_config=ExecutionConfig(dbt_executable_path=settings.dbt_executable),
        render_config=RenderConfig(load_method=LoadMode.DBT_MANIFEST, select=select, emit_datasets=False),
        operator_args={"vars": dict(vars)},
        **kwargs,
    )


def dbt_test_task(task_id: str, select: str, settings: PlatformSettings, vars: Mapping[str, Any]) -> Any:
    """One task running `dbt test` on the selection (data and unit tests), with `vars` passed to dbt."""
    from cosmos.operators.local import DbtTestLocalOperator

    return DbtTestLocalOperator(
        task_id=task_id,
        select=select,
        vars=dict(vars),
        profile_config=cosmos_profile_config(),
        install_deps=False,
        emit_datasets=False,
        **cosmos_project_kwargs(settings),
    )


def deploy_views_task(settings: PlatformSettings, vars: Mapping[str, Any], task_id: str = "deploy_views") -> Any:
    """A task that re-creates the staging and intermediate views only when their definitions changed
    (tasks.dbt_views): views are not re-created on every run, and never by two runs at once."""
    from media_platform.tasks.dbt_views import DeployViewsOperator

    return DeployViewsOperator(
        task_id=task_id,
        manifest_path=str(settings.dbt_manifest_path),
        vars=dict(vars),
        profile_config=cosmos_profile_config(),
        install_deps=False,
        emit_datasets=False,
        **cosmos_project_kwargs(settings),
    )
