"""The alert wiring of DAGs: an async deadline callback whose recorded path imports, failures go to the channel."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from airflow.sdk.definitions.callback import AsyncCallback

from media_platform.config.provider import load_provider_config
from media_platform.dag_factory.callbacks import (
    audit_failure_callback,
    deadline_alert,
    deadline_guard_callback,
    failure_callback,
)
from media_platform.notifications.alert_callbacks import audit_failed, deadline_missed, task_failed
from media_platform.notifications.deadline_guard import deadline_guard

CONFIG = load_provider_config(Path(__file__).resolve().parents[3] / "include" / "providers" / "demo_adi.yaml")


def test_the_deadline_callback_runs_in_the_triggerer_by_a_path_that_imports() -> None:
    alert = deadline_alert(CONFIG, CONFIG.dag_id)
    assert isinstance(alert.callback, AsyncCallback)
    assert alert.callback.path == "media_platform.notifications.alert_callbacks.deadline_missed"
    module, name = alert.callback.path.rsplit(".", 1)
    assert getattr(importlib.import_module(module), name) is deadline_missed
    assert alert.callback.kwargs == {
        "channel": CONFIG.alert_channel,
        "dag_id": "ingest_demo_adi",
        "deadline": "2h",
        "provider_id": "demo_adi",
    }


def test_task_failures_go_to_the_provider_channel() -> None:
    callback = failure_callback(CONFIG)
    assert callback.func is task_failed
    assert callback.keywords == {"channel": CONFIG.alert_channel, "provider_id": "demo_adi"}


def test_audit_failures_and_the_guard_have_their_callbacks() -> None:
    assert audit_failure_callback() is audit_failed
    assert deadline_guard_callback() is deadline_guard


@pytest.mark.parametrize("deadlines", ["on", "off"])
def test_provider_dags_carry_the_deadline_and_its_guard_only_with_deadline_alerts_on(
    monkeypatch: pytest.MonkeyPatch, deadlines: str
) -> None:
    from media_platform.config.settings import PlatformSettings
    from media_platform.dag_factory.provider_dag import build_provider_dag

    monkeypatch.setenv("MEDIA_DEADLINE_ALERTS", deadlines)  # off: `airflow dags test` (apache/airflow#73428)
    monkeypatch.delenv("MEDIA_EXECUTION_MODE", raising=False)
    dag = build_provider_dag(CONFIG, PlatformSettings.from_env(), ["demo_adi"])
    extract_load = dag.get_task("extract_load")
    if deadlines == "on":
        assert dag.deadline is not None and extract_load.on_execute_callback == [deadline_guard]
    else:
        assert dag.deadline is None and not extract_load.on_execute_callback
    assert [cb.func for cb in extract_load.on_failure_callback] == [task_failed]


def test_the_audit_of_the_marts_reports_its_failure() -> None:
    from media_platform.config.settings import PlatformSettings
    from media_platform.dag_factory.publish_dag import build_publish_dag

    dag = build_publish_dag((CONFIG,), PlatformSettings.from_env())
    assert dag.get_task("audit_marts").on_failure_callback == [audit_failed]
    assert not dag.get_task("publish").on_failure_callback
