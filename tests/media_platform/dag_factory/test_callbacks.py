"""The alert wiring of provider DAGs: the deadline callback's recorded path imports, failures go to the channel."""

from __future__ import annotations

import importlib
from pathlib import Path

from media_platform.config.provider import load_provider_config
from media_platform.dag_factory.callbacks import deadline_alert, failure_callback
from media_platform.tasks.alerts import deadline_missed, task_failed

CONFIG = load_provider_config(Path(__file__).resolve().parents[3] / "include" / "providers" / "demo_adi.yaml")


def test_deadline_callback_is_recorded_by_a_path_that_imports() -> None:
    alert = deadline_alert(CONFIG, CONFIG.dag_id)
    assert alert.callback.path == "media_platform.tasks.alerts.deadline_missed"
    module, name = alert.callback.path.rsplit(".", 1)
    assert getattr(importlib.import_module(module), name) is deadline_missed
    assert alert.callback.kwargs == {"channel": CONFIG.alert_channel, "dag_id": "ingest_demo_adi", "deadline": "2h"}


def test_task_failures_go_to_the_provider_channel() -> None:
    callback = failure_callback(CONFIG)
    assert callback.func is task_failed
    assert callback.keywords == {"channel": CONFIG.alert_channel}
