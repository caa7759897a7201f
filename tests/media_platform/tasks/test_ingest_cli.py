"""The ingest CLI arguments both extract_load paths use: provider settings as flags, no Jinja from the YAML."""

from __future__ import annotations

import pytest
from ingest_cases import PROJECT_ROOT

from media_platform.config.provider import ProviderConfig, load_provider_config
from media_platform.tasks.ingest_cli import ingest_arguments
from media_platform.tasks.ingest_local import build_local_task


def test_jinja_markup_in_config_values_is_refused(config: ProviderConfig):
    odd = config.model_copy(update={"source": config.source.model_copy(update={"file_glob": "{{ ds }}.xml"})})
    with pytest.raises(ValueError, match="--file-glob"):
        build_local_task(odd)


def test_api_source_and_pick_by_reach_the_cli_arguments() -> None:
    base = load_provider_config(PROJECT_ROOT / "include" / "providers" / "demo_adi.yaml")
    config = base.model_copy(
        update={
            "source": base.source.model_validate(
                {
                    "transport": "api",
                    "location": "https://api.example/v1/titles",
                    "pick_by": "modified_time",
                    "api": {"paging": "page", "options": {"items_field": "data"}},
                }
            ),
            "format_options": {"items_field": "data"},
        }
    )
    args = ingest_arguments(config)
    pairs = dict(zip(args[1::2], args[2::2], strict=False))
    assert pairs["--source-kind"] == "api" and pairs["--api-paging"] == "page"
    assert pairs["--pick-by"] == "modified-time"
    assert pairs["--api-options"] == '{"items_field": "data"}'
    assert pairs["--format-options"] == '{"items_field": "data"}'
