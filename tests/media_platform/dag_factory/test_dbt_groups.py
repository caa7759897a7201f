"""The marts' dbt task group: one `dbt build` (Cosmos watcher mode) with a task per mart and per mart's tests."""

from __future__ import annotations

import pytest

from media_platform.config.settings import PlatformSettings
from media_platform.dag_factory.dbt_groups import dbt_task_group, dbt_vars

VARS = dbt_vars(["demo_adi", "demo_api"])


@pytest.fixture()
def group_dag(monkeypatch: pytest.MonkeyPatch, test_env: dict[str, str]):
    for key, value in test_env.items():
        monkeypatch.setenv(key, value)
    from airflow.sdk import DAG

    settings = PlatformSettings.from_env()
    with DAG(dag_id="marts_group", schedule=None, default_args={"retries": 1}) as dag:
        dbt_task_group("build_marts", ["path:models/marts"], settings, VARS)
    return dag, settings


def test_the_marts_are_built_by_one_dbt_build_with_a_task_per_mart(group_dag) -> None:
    from cosmos.operators.watcher import DbtProducerWatcherOperator, DbtRunWatcherOperator, DbtTestWatcherOperator

    dag, settings = group_dag
    marts = sorted(path.stem for path in (settings.dbt_project_dir / "models" / "marts").glob("*.sql"))
    build = dag.get_task("build_marts.dbt_producer_watcher")
    assert isinstance(build, DbtProducerWatcherOperator)
    assert build.select == "path:models/marts" and build.vars == VARS
    assert str(build.dbt_executable_path) == str(settings.dbt_executable)
    assert build.retries == 0  # a second attempt would be skipped by Cosmos, and a skip would not fail the run
    runs = {task.task_id: task for task in dag.tasks if isinstance(task, DbtRunWatcherOperator)}
    tests = {task.task_id: task for task in dag.tasks if isinstance(task, DbtTestWatcherOperator)}
    assert sorted(runs) == [f"build_marts.{mart}.run" for mart in marts]
    assert sorted(tests) == [f"build_marts.{mart}.test" for mart in marts]
    for task in [*runs.values(), *tests.values()]:
        assert task.vars == VARS and task.deferrable is False  # no triggerer needed
        assert str(task.dbt_executable_path) == str(settings.dbt_executable)
        assert build.task_id in task.get_flat_relative_ids(upstream=True)  # starts after the build reported
        assert task.retries == 1  # a retried node task re-runs its model or tests alone, with the same vars
        # a failed build (model or test) fails them and what follows; a skipped one (a cleared build's second
        # attempt, which Cosmos skips) lets them re-run their own model or tests
        follows_build = task.upstream_task_ids == {build.task_id}
        assert task.trigger_rule == ("none_failed" if follows_build else "all_success")
    assert dag.get_task("build_marts.dbt_producer_watcher_done").trigger_rule == "none_failed"
