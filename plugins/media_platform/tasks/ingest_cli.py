"""The ingest CLI as both extract_load paths call it: the entrypoint and the argument list, interval templated."""

from __future__ import annotations

from ingest import contract
from media_platform.config.provider import ProviderConfig

INGEST_ENTRYPOINT = ("python", "-m", "ingest")
# A scheduled, manual or backfill run loads its data interval; an asset-triggered run has none, and loads the
# interval of the delivery that triggered it (the provider DAG's `run_interval` macro, media_platform.triggers).
INTERVAL_START = (
    "{{ (data_interval_start if data_interval_start is defined else run_interval(dag_run).start).isoformat() }}"
)
INTERVAL_END = "{{ (data_interval_end if data_interval_end is defined else run_interval(dag_run).end).isoformat() }}"
_JINJA_MARKERS = ("{{", "{%", "{#")


def ingest_arguments(config: ProviderConfig) -> list[str]:
    """The CLI arguments after `python -m ingest`, the data interval as Jinja templates; both paths use this list.

    The ingest package's contract builds the list, so the flags and their values have one owner. Values from the
    YAML must not carry Jinja markup: Airflow would render it.
    """
    source = config.source
    for flag, value in (
        (contract.Flag.PROVIDER, config.provider_id),
        (contract.Flag.LOCATION, source.location),
        (contract.Flag.FILE_GLOB, source.file_glob),
        (contract.Flag.DATE_IN_PATH, source.date_in_path),
    ):
        if any(marker in value for marker in _JINJA_MARKERS):
            raise ValueError(
                f"{config.provider_id}: {flag} value {value!r} contains Jinja markup, which would be rendered"
            )
    spec = contract.transport(source.transport)
    return contract.run_arguments(
        config.provider_id,
        config.format.value,
        source.location,
        INTERVAL_START,
        INTERVAL_END,
        file_glob=source.file_glob,
        date_in_path=source.date_in_path,
        pick_by=source.pick_by,
        format_options=config.format_options or None,
        source_kind=spec.source_kind,
        api_paging=source.api.paging if source.api else contract.DEFAULT_API_PAGING,
        api_options=(source.api.options or None) if source.api else None,
    )
