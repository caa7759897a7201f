"""The DagBag: no import errors, one DAG per provider YAML with the expected tasks, bad YAML surfaced clearly."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from media_platform.tasks.ingest_cli import INTERVAL_END, INTERVAL_START

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DAGS_DIR = PROJECT_ROOT / "dags"


def _dagbag(monkeypatch: pytest.MonkeyPatch, test_env: dict[str, str], providers_dir: Path | None = None):
    for key, value in test_env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("MEDIA_TASK_RETRIES", raising=False)  # the YAML's retries, not the test override
    if providers_dir is not None:
        monkeypatch.setenv("MEDIA_PROVIDERS_DIR", str(providers_dir))
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_DIR))


def test_no_import_errors_and_one_dag_per_provider(monkeypatch: pytest.MonkeyPatch, test_env: dict[str, str]) -> None:
    bag = _dagbag(monkeypatch, test_env)
    assert bag.import_errors == {}
    provider_ids = sorted(path.stem for path in (PROJECT_ROOT / "include" / "providers").glob("*.yaml"))
    assert sorted(dag_id for dag_id in bag.dag_ids if dag_id.startswith("ingest_")) == [
        f"ingest_{provider_id}" for provider_id in provider_ids
    ]
    assert "publish_reporting" in bag.dag_ids


def test_provider_dag_shape(monkeypatch: pytest.MonkeyPatch, test_env: dict[str, str]) -> None:
    dag = _dagbag(monkeypatch, test_env).dags["ingest_demo_adi"]
    assert {task.task_id for task in dag.tasks} == {
        "extract_load",
        "transform_staging.deploy_views",
        "transform_staging.test",
        "staging_ready",
    }
    assert dag.get_task("extract_load").pool == "warehouse_loads"
    assert dag.get_task("extract_load").downstream_task_ids == {"transform_staging.deploy_views"}
    assert dag.get_task("transform_staging.deploy_views").downstream_task_ids == {"transform_staging.test"}
    # the tests of its format's staging (and raw source), on its own rows only; every dbt call knows the
    # configured providers (the YAMLs), so no other provider id in raw reaches staging
    configured = sorted(path.stem for path in (PROJECT_ROOT / "include" / "providers").glob("*.yaml"))
    tests = dag.get_task("transform_staging.test")
    assert tests.select == "tag:format_adi"
    # ... and of those, the batches of the run's data interval (templated: the run's interval or its delivery's)
    assert tests.vars == {
        "providers": configured,
        "provider_id": "demo_adi",
        "test_interval_start": INTERVAL_START,
        "test_interval_end": INTERVAL_END,
    }
    assert dag.get_task("transform_staging.deploy_views").vars == {"providers": configured}
    assert [outlet.uri for outlet in dag.get_task("staging_ready").outlets] == ["media-platform://staging/demo_adi"]
    assert dag.doc_md and "demo_adi" in dag.doc_md
    assert {"provider", "adi"} <= set(dag.tags)
    assert dag.max_active_runs == 1
    assert dag.default_args["owner"] == "content-ops" and dag.default_args["retries"] == 2
    assert dag.deadline is not None
    # watched (source.watch): a delivery starts a run, and the daily cron timetable still sweeps and backfills
    assert type(dag.timetable).__name__ == "AssetOrTimeSchedule"
    assert type(dag.timetable.timetable).__name__ == "CronDataIntervalTimetable"


def test_publish_dag_runs_marts_then_audit_then_publish(
    monkeypatch: pytest.MonkeyPatch, test_env: dict[str, str]
) -> None:
    dag = _dagbag(monkeypatch, test_env).dags["publish_reporting"]
    assert dag.max_active_runs == 1
    # a run with no changed input stops at check_inputs; a completed publish records what it was built from
    assert dag.get_task("check_inputs").downstream_task_ids == {"build_intermediate.deploy_views", "record_inputs"}
    assert dag.get_task("record_inputs").upstream_task_ids == {"check_inputs", "publish"}
    assert dag.params["force"] is False
    match = dag.get_task("match_eidr")
    assert match.upstream_task_ids == {"build_intermediate.test"}
    assert dag.get_task("build_intermediate.deploy_views").downstream_task_ids == {"build_intermediate.test"}
    assert any(task_id.startswith("build_marts.") for task_id in match.downstream_task_ids)
    audit = dag.get_task("audit_marts")
    ancestors = audit.get_flat_relative_ids(upstream=True)
    assert {task_id for task_id in dag.task_ids if task_id.startswith("build_marts.")} <= ancestors
    assert audit.downstream_task_ids == {"publish"}
    configured = {"providers": sorted(path.stem for path in (PROJECT_ROOT / "include" / "providers").glob("*.yaml"))}
    dbt_tasks = [
        task
        for task in dag.tasks
        if task.task_id.startswith(("build_intermediate.", "build_marts."))
        and task.task_id != "build_marts.dbt_producer_watcher_done"  # Cosmos's gate after the build, runs no dbt
    ]
    assert dbt_tasks and all(task.vars == configured for task in dbt_tasks)
    assert sorted(outlet.uri for outlet in dag.get_task("publish").outlets) == [
        "media-platform://reporting/availability_windows",
        "media-platform://reporting/eidr_coverage",
        "media-platform://reporting/eidr_mapping",
        "media-platform://reporting/eidr_review_queue",
        "media-platform://reporting/provider_deliveries",
        "media-platform://reporting/titles",
    ]


def test_bad_yaml_is_an_import_error_and_the_others_still_load(
    monkeypatch: pytest.MonkeyPatch, test_env: dict[str, str], tmp_path: Path
) -> None:
    shutil.copy(PROJECT_ROOT / "include" / "providers" / "demo_adi.yaml", tmp_path / "demo_adi.yaml")
    (tmp_path / "broken.yaml").write_text(
        (tmp_path / "demo_adi.yaml").read_text().replace("demo_adi", "broken").replace("format: adi", "format: mp4")
    )
    bag = _dagbag(monkeypatch, test_env, tmp_path)
    assert "ingest_demo_adi" in bag.dag_ids
    assert "ingest_broken" not in bag.dag_ids
    [(path, message)] = bag.import_errors.items()
    assert path.endswith("provider_config_check.py")
    assert "broken.yaml" in message and "format" in message and "'adi'" in message


def test_a_credential_in_a_yaml_is_masked_in_the_import_error(
    monkeypatch: pytest.MonkeyPatch, test_env: dict[str, str], tmp_path: Path
) -> None:
    password, signature = "pw-Never-Shown-1", "sig-Never-Shown-2"
    demo = (PROJECT_ROOT / "include" / "providers" / "demo_adi.yaml").read_text()
    for name, source in {
        "leaky_sftp": f"  transport: sftp\n  location: sftp://feed:{password}@sftp.example/in",
        "leaky_s3": f"  transport: s3\n  location: s3://drop/in?X-Amz-Signature={signature}",
    }.items():
        text = demo.replace("  transport: local\n  location: demo_adi", source).replace("demo_adi", name)
        (tmp_path / f"{name}.yaml").write_text(text)
    bag = _dagbag(monkeypatch, test_env, tmp_path)
    [(path, message)] = bag.import_errors.items()
    assert path.endswith("provider_config_check.py")
    assert "leaky_sftp.yaml" in message and "leaky_s3.yaml" in message
    assert message.count("source.location: a credential was found in the location") == 2
    assert "sftp://***@sftp.example/in" in message and "X-Amz-Signature=***" in message
    assert password not in message and signature not in message
