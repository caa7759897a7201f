"""What the thin files in dags/ call: build every valid provider's DAG and report the invalid files."""

from __future__ import annotations

import logging
from typing import Any

from media_platform.config.provider import ProviderConfigError, load_provider_configs
from media_platform.config.settings import PlatformSettings

log = logging.getLogger(__name__)


class ProviderConfigErrors(ValueError):
    """One or more provider YAML files are invalid; each line names the file, the field and what was expected."""


def register_dags(namespace: dict[str, Any], settings: PlatformSettings | None = None) -> list[str]:
    """Put one DAG per valid provider YAML, and the publish DAG, into a dags/ module's globals.

    A worker parses this file again to run one task, and tells which DAG it needs (Airflow's parsing context): then
    only that DAG is built, so starting a task does not cost a build of every provider's DAG.
    """
    from airflow.sdk import get_parsing_context

    from media_platform.dag_factory.provider_dag import build_provider_dag
    from media_platform.dag_factory.publish_dag import PUBLISH_DAG_ID, build_publish_dag

    settings = settings or PlatformSettings.from_env()
    loaded = load_provider_configs(settings.providers_dir)
    for error in loaded.errors:
        log.error("skipping provider: %s", error)
    wanted = get_parsing_context().dag_id
    dag_ids = []
    providers = [config.provider_id for config in loaded.configs]
    for config in loaded.configs:
        if wanted in (None, config.dag_id):
            namespace[config.dag_id] = build_provider_dag(config, settings, providers)
            dag_ids.append(config.dag_id)
    if wanted in (None, PUBLISH_DAG_ID):
        publish = build_publish_dag(loaded.configs, settings)
        namespace[publish.dag_id] = publish
        dag_ids.append(publish.dag_id)
    return dag_ids


def config_errors(settings: PlatformSettings | None = None) -> tuple[ProviderConfigError, ...]:
    settings = settings or PlatformSettings.from_env()
    return load_provider_configs(settings.providers_dir).errors


def raise_config_errors(settings: PlatformSettings | None = None) -> None:
    """Raise every provider config error at once, so the Airflow UI lists them as this file's import error."""
    errors = config_errors(settings)
    if errors:
        raise ProviderConfigErrors("\n".join(str(error) for error in errors))
