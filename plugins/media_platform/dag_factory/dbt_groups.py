"""Cosmos configuration for the dbt project: built from a manifest made ahead of time, never `dbt ls` at parse time."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from media_platform.config.constants import WAREHOUSE_CONN_ID
from media_platform.config.dbt_manifest import require_manifest
from media_platform.config.settings import PlatformSettings

# dbt runs this many models at once in a multi-model invocation (the marts' single `dbt build`); the work is SQL
# waiting on the warehouse, so more threads than CPU cores pays.
DBT_THREADS = 4


def cosmos_profile_config() -> Any:
    """dbt profile from the Airflow connection `warehouse` (no profiles.yml with secrets in the image)."""
    from cosmos import ProfileConfig
    from cosmos.profiles import PostgresUserPasswordProfileMapping

    return ProfileConfig(
        profile_name="media_platform",
        target_name="airflow",
        profile_mapping=PostgresUserPasswordProfileMapping(
            conn_id=WAREHOUSE_CONN_ID, profile_args={"schema": "staging", "threads": DBT_THREADS}
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
    """A Cosmos DbtTaskGroup that runs the selected models and their tests as one `dbt build` (ExecutionMode.WATCHER:
    one dbt start, one manifest load, one connection pool, instead of a dbt process per model and per test), while
    the UI keeps a task per model and per model's tests, reporting that node's result.

    The build task (`dbt_producer_watcher`) runs first and the per-node tasks follow it: they read the results it
    left in XCom and need neither a triggerer nor a slot while dbt runs, and `airflow dags test`, which runs one task
    at a time, cannot start a node task before the build. A failed model or test fails the build, so the node tasks
    and everything after the group are upstream_failed (the build's log names the failures). The build is never
    retried automatically: after a fix, a new run builds again."""
    from cosmos import DbtTaskGroup, ExecutionConfig, ExecutionMode, LoadMode, ProjectConfig, RenderConfig

    require_manifest(settings.dbt_manifest_path)
    group = DbtTaskGroup(
        group_id=group_id,
        project_config=ProjectConfig(
            dbt_project_path=settings.dbt_project_dir,
            manifest_path=settings.dbt_manifest_path,
            install_dbt_deps=False,
        ),
        profile_config=cosmos_profile_config(),
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.WATCHER,
            dbt_executable_path=settings.dbt_executable,
            setup_operator_args={"retries": 0},
        ),
        render_config=RenderConfig(load_method=LoadMode.DBT_MANIFEST, select=select, emit_datasets=False),
        # the node tasks poke once, after the build; the timeout stops one whose node the build never reported
        operator_args={"vars": dict(vars), "deferrable": False, "timeout": 600},
        **kwargs,
    )
    _run_build_first(group)
    return group


def _run_build_first(group: Any) -> None:
    """Put the group's build task upstream of the node tasks that have no upstream inside the group (Cosmos wires
    that only for a DbtDag), so they start once the build has reported every node. They run after a successful or a
    skipped build (Cosmos skips a cleared build's second attempt and leaves the node tasks to re-run their own model
    or tests), never after a failed one."""
    from airflow.task.trigger_rule import TriggerRule
    from cosmos.constants import PRODUCER_WATCHER_TASK_ID

    build = group.children[group.child_id(PRODUCER_WATCHER_TASK_ID)]
    for root in group.roots:
        if root is not build:
            build >> root
            root.trigger_rule = TriggerRule.NONE_FAILED


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
