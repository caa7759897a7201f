"""A watched provider's DAG: scheduled on its delivery asset or its cron, same tasks, backfill still planned by day."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pendulum
import pytest

from media_platform.config.constants import EXECUTION_MODE_ENV
from media_platform.config.provider import load_provider_config
from media_platform.config.settings import PlatformSettings
from media_platform.dag_factory.provider_dag import build_provider_dag

PROVIDERS_DIR = Path(__file__).resolve().parents[3] / "include" / "providers"
TASK_IDS = {"extract_load", "transform_staging.deploy_views", "transform_staging.test", "staging_ready"}


def provider_dag(tmp_path: Path, watch: bool) -> Any:
    text = (PROVIDERS_DIR / "demo_adi.yaml").read_text()
    text = "".join(line for line in text.splitlines(keepends=True) if not line.startswith("  watch"))
    if watch:
        text = text.replace("source:\n", "source:\n  watch: true\n", 1)
    path = tmp_path / "demo_adi.yaml"
    path.write_text(text)
    return build_provider_dag(load_provider_config(path), PlatformSettings.from_env(), ["demo_adi"])


@pytest.fixture(autouse=True)
def local_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(EXECUTION_MODE_ENV, raising=False)


def test_an_unwatched_provider_keeps_its_cron_timetable(tmp_path: Path) -> None:
    dag = provider_dag(tmp_path, watch=False)
    assert type(dag.timetable).__name__ == "CronDataIntervalTimetable"
    assert set(dag.task_ids) == TASK_IDS


def test_a_watched_provider_runs_on_its_delivery_asset_or_its_cron_with_the_same_tasks(tmp_path: Path) -> None:
    from airflow.sdk import Asset, AssetOrTimeSchedule, CronDataIntervalTimetable

    dag = provider_dag(tmp_path, watch=True)
    assert isinstance(dag.timetable, AssetOrTimeSchedule)
    assert dag.timetable.timetable == CronDataIntervalTimetable("0 0 * * *", timezone="UTC")
    asset = dag.timetable.asset_condition
    assert isinstance(asset, Asset) and asset.uri == "media-platform://delivery/demo_adi"
    assert [watcher.name for watcher in asset.watchers] == ["drop_folder_demo_adi"]
    assert set(dag.task_ids) == TASK_IDS
    assert dag.get_task("extract_load").downstream_task_ids == {"transform_staging.deploy_views"}
    assert dag.max_active_runs == 1  # an event run and the sweep of one interval never load it at the same time


def test_the_serialized_watched_dag_still_plans_one_backfill_run_per_day(tmp_path: Path) -> None:
    from airflow.serialization.serialized_objects import DagSerialization

    serialized = DagSerialization.from_dict(DagSerialization.to_dict(provider_dag(tmp_path, watch=True)))
    assert type(serialized.timetable).__name__ == "AssetOrTimeSchedule"
    assert serialized.timetable.periodic  # what `airflow backfill create` requires
    planned = serialized.iter_dagrun_infos_between(
        pendulum.datetime(2026, 11, 10, tz="UTC"), pendulum.datetime(2026, 11, 12, tz="UTC")
    )
    assert [(info.data_interval.start.day, info.data_interval.end.day) for info in planned] == [
        (10, 11),
        (11, 12),
        (12, 13),
    ]
    [watcher] = serialized.timetable.asset_condition.watchers
    assert watcher.trigger["classpath"] == "media_platform.triggers.drop_folder.DropFolderTrigger"


def rendered_interval(dag: Any, context: dict[str, Any]) -> tuple[str, str]:
    """extract_load's --start and --end as the worker renders them, with the DAG's macros."""
    task = dag.get_task("extract_load")
    task.render_template_fields(context, jinja_env=dag.get_template_env())
    args = task.arguments
    return args[args.index("--start") + 1], args[args.index("--end") + 1]


def test_an_asset_triggered_run_loads_the_interval_of_its_delivery(tmp_path: Path) -> None:
    dag = provider_dag(tmp_path, watch=True)
    payload = {"provider_id": "demo_adi", "interval_start": "2026-11-02T00:00:00+00:00",
               "interval_end": "2026-11-03T00:00:00+00:00", "file_count": 1, "files": ["2026-11-02/a.xml"]}  # fmt: skip
    dag_run = SimpleNamespace(
        run_after=datetime(2026, 11, 3, 9, 30, tzinfo=UTC),
        consumed_asset_events=[SimpleNamespace(extra={"from_trigger": True, "payload": payload})],
    )
    # Airflow 3 gives an asset-triggered run no logical date and no data interval: the context lacks both keys
    assert rendered_interval(dag, {"dag_run": dag_run}) == ("2026-11-02T00:00:00+00:00", "2026-11-03T00:00:00+00:00")


def test_a_scheduled_run_still_loads_its_data_interval(tmp_path: Path) -> None:
    dag = provider_dag(tmp_path, watch=True)
    context = {
        "dag_run": SimpleNamespace(run_after=datetime(2026, 11, 6, tzinfo=UTC), consumed_asset_events=[]),
        "data_interval_start": pendulum.datetime(2026, 11, 5, tz="UTC"),
        "data_interval_end": pendulum.datetime(2026, 11, 6, tz="UTC"),
    }
    assert rendered_interval(dag, context) == ("2026-11-05T00:00:00+00:00", "2026-11-06T00:00:00+00:00")
