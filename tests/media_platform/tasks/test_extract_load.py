"""The extract_load mode switch: local by default, Kubernetes on request, the same command either way."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from ingest_cases import EXPECTED_ARGS, INTERVAL, kubernetes_task

from media_platform.config.constants import EXECUTION_MODE_ENV, ExecutionMode
from media_platform.config.provider import ProviderConfig
from media_platform.config.settings import SettingsError
from media_platform.tasks.extract_load import build_extract_load_task
from media_platform.tasks.ingest_local import LocalIngestOperator, build_local_task, ingest_command
from media_platform.tasks.ingest_pod import KPO_SUMMARY_FILE


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
