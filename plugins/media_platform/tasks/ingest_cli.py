"""The ingest CLI as both extract_load paths call it: the entrypoint and the argument list, interval templated."""

from __future__ import annotations

import json

from media_platform.config.constants import PickBy
from media_platform.config.provider import ProviderConfig

INGEST_ENTRYPOINT = ("python", "-m", "ingest")
INTERVAL_START = "{{ data_interval_start.isoformat() }}"
INTERVAL_END = "{{ data_interval_end.isoformat() }}"
_JINJA_MARKERS = ("{{", "{%", "{#")


def ingest_arguments(config: ProviderConfig) -> list[str]:
    """The CLI arguments after `python -m ingest`, the data interval as Jinja templates; both paths use this list."""
    fixed = {
        "--provider": config.provider_id,
        "--format": config.format.value,
        "--location": config.source.location,
        "--file-glob": config.source.file_glob,
        "--date-in-path": config.source.date_in_path,
    }
    for flag, value in fixed.items():
        if any(marker in value for marker in _JINJA_MARKERS):
            raise ValueError(
                f"{config.provider_id}: {flag} value {value!r} contains Jinja markup, which would be rendered"
            )
    source = config.source
    if config.format_options:
        fixed["--format-options"] = json.dumps(config.format_options, sort_keys=True)
    if source.pick_by is not PickBy.PATH_DATE:
        fixed["--pick-by"] = source.pick_by.value.replace("_", "-")
    if source.api is not None:
        fixed["--source-kind"] = "api"
        fixed["--api-paging"] = source.api.paging
        if source.api.options:
            fixed["--api-options"] = json.dumps(source.api.options, sort_keys=True)
    interval = ["--start", INTERVAL_START, "--end", INTERVAL_END]
    return ["run", *(item for pair in fixed.items() for item in pair), *interval]
