"""The ingest CLI arguments both extract_load paths use: provider settings as flags, no Jinja from the YAML."""

from __future__ import annotations

import pytest
from ingest_cases import PROJECT_ROOT

from media_platform.config.provider import ProviderConfig, load_provider_config
from media_platform.tasks.ingest_cli import INTERVAL_END, INTERVAL_START, ingest_arguments
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
    assert pairs["--pick-by"] == "modified_time"
    assert pairs["--api-options"] == '{"items_field": "data"}'
    assert pairs["--format-options"] == '{"items_field": "data"}'


def _rendered(args: list[str]) -> list[str]:
    """The arguments as Airflow renders them for the data interval [2026-11-02, 2026-11-03)."""
    return [
        arg.replace(INTERVAL_START, "2026-11-02T00:00:00+00:00").replace(INTERVAL_END, "2026-11-03T00:00:00+00:00")
        for arg in args
    ]


@pytest.mark.parametrize("path", sorted((PROJECT_ROOT / "include" / "providers").glob("*.yaml")), ids=lambda p: p.stem)
def test_the_ingest_cli_parses_what_the_dag_side_builds(path) -> None:
    from ingest.__main__ import build_parser

    config = load_provider_config(path)
    parsed = build_parser().parse_args([*_rendered(ingest_arguments(config)), "--summary-file", "/tmp/summary.json"])
    assert (parsed.command, parsed.provider, parsed.format) == ("run", config.provider_id, config.format.value)
    assert (parsed.location, parsed.file_glob, parsed.date_in_path) == (
        config.source.location, config.source.file_glob, config.source.date_in_path,
    )  # fmt: skip
    assert parsed.pick_by == config.source.pick_by.value
    assert parsed.source_kind == ("api" if config.source.api else "files")
    assert (parsed.format_options or {}) == config.format_options
    assert parsed.start.isoformat() == "2026-11-02T00:00:00+00:00" and parsed.end.day == 3


def test_the_ingest_cli_parses_an_api_source_with_every_option() -> None:
    from ingest.__main__ import build_parser

    base = load_provider_config(PROJECT_ROOT / "include" / "providers" / "demo_adi.yaml")
    source = base.source.model_validate(
        {
            "transport": "api",
            "location": "https://api.example/v1/titles",
            "pick_by": "modified_time",
            "api": {"paging": "page", "options": {"items_field": "data"}},
        }
    )
    config = base.model_copy(update={"source": source, "format_options": {"items_field": "data"}})
    parsed = build_parser().parse_args(_rendered(ingest_arguments(config)))
    assert (parsed.source_kind, parsed.api_paging, parsed.pick_by) == ("api", "page", "modified_time")
    assert parsed.api_options == {"items_field": "data"} and parsed.format_options == {"items_field": "data"}
