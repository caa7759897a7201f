"""The strings `python -m ingest run` shares with the Airflow side, owned here; light to import (no heavy deps)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import fields
from enum import StrEnum
from typing import Any

from ingest.discover.sources import rest_api
from ingest.discover.transports import TRANSPORTS, local
from ingest.discover.transports.base import Credential, TransportSpec
from ingest.models import BatchSummary
from ingest.parse import formats

__all__ = [
    "API_PAGING",
    "DEFAULT_API_PAGING",
    "DEFAULT_DATE_IN_PATH",
    "DEFAULT_FILE_GLOB",
    "DROP_ROOT_ENV",
    "IDLE_IN_TRANSACTION_TIMEOUT_ENV",
    "LOCK_TIMEOUT_ENV",
    "PARSE_WORKERS_ENV",
    "PROVIDER_ID",
    "PROVIDER_ID_PATTERN",
    "RUN_COMMAND",
    "SUMMARY_FIELDS",
    "WAREHOUSE_DSN_ENV",
    "Credential",
    "Flag",
    "PickBy",
    "SourceKind",
    "TransportSpec",
    "connection_env",
    "format_names",
    "run_arguments",
    "transport",
    "transport_names",
    "transports",
]

RUN_COMMAND = "run"
PROVIDER_ID_PATTERN = r"^[a-z][a-z0-9_]{1,40}$"  # our provider ids: dag ids, batch ids and file names are built on them
PROVIDER_ID = re.compile(PROVIDER_ID_PATTERN)

# Environment of a run (credentials are declared by each transport, see transports())
WAREHOUSE_DSN_ENV = "WAREHOUSE_DSN"  # libpq URL of the warehouse; else libpq's PG* variables
PARSE_WORKERS_ENV = "INGEST_PARSE_WORKERS"  # parser processes; the pod spec sets it from its CPU limit
LOCK_TIMEOUT_ENV = "INGEST_LOCK_TIMEOUT"  # longest wait for any lock (PostgreSQL duration, default 60s)
IDLE_IN_TRANSACTION_TIMEOUT_ENV = "INGEST_IDLE_IN_TRANSACTION_TIMEOUT"  # the server ends a session idle this long
DROP_ROOT_ENV = local.DROP_ROOT_ENV  # relative local locations are under this folder

DEFAULT_FILE_GLOB = "*.xml"
DEFAULT_DATE_IN_PATH = "%Y-%m-%d"
API_PAGING: tuple[str, ...] = rest_api.PAGING
DEFAULT_API_PAGING = rest_api.CursorPaging.name


class Flag(StrEnum):
    """The options of `python -m ingest run`."""

    PROVIDER = "--provider"
    FORMAT = "--format"
    LOCATION = "--location"
    FILE_GLOB = "--file-glob"
    DATE_IN_PATH = "--date-in-path"
    SOURCE_KIND = "--source-kind"
    PICK_BY = "--pick-by"
    API_PAGING = "--api-paging"
    API_OPTIONS = "--api-options"
    START = "--start"
    END = "--end"
    FORMAT_OPTIONS = "--format-options"
    SUMMARY_FILE = "--summary-file"


class PickBy(StrEnum):
    """How files are matched to a data interval: by delivery-date folder, or by modification time."""

    PATH_DATE = "path_date"
    MODIFIED_TIME = "modified_time"


class SourceKind(StrEnum):
    """Files in a drop location, or pages of a REST API."""

    FILES = "files"
    API = "api"


# The keys of the JSON summary a run prints as its last stdout line and writes to --summary-file, in order.
SUMMARY_FIELDS: tuple[str, ...] = tuple(field.name for field in fields(BatchSummary))


def format_names() -> tuple[str, ...]:
    """The values `--format` accepts (the provider YAML's `format`)."""
    return formats.format_names()


def transports() -> tuple[TransportSpec, ...]:
    """Every transport a provider YAML may name: the file transports, then the REST API."""
    return (*TRANSPORTS, rest_api.TRANSPORT)


def transport_names() -> tuple[str, ...]:
    """The values of the provider YAML's `source.transport`."""
    return tuple(spec.name for spec in transports())


def transport(name: str) -> TransportSpec:
    """A transport's spec: its location schemes ("" is a plain path), credential variables and source kind; raises
    KeyError for an unknown name."""
    return {spec.name: spec for spec in transports()}[name]


def connection_env(name: str, login: str | None, password: str | None, extra: Mapping[str, Any]) -> dict[str, str]:
    """The variables transport `name` reads, from an Airflow connection's login, password and extra (local runs);
    empty values are left out."""
    values: dict[str, str] = {}
    for credential in transport(name).credentials:
        field = credential.connection_field
        if field is None:
            continue
        value = login if field == "login" else password if field == "password" else extra.get(field[len("extra.") :])
        if value:
            values[credential.env] = str(value)
    return values


def run_arguments(
    provider: str,
    source_format: str,
    location: str,
    start: str,
    end: str,
    *,
    file_glob: str = DEFAULT_FILE_GLOB,
    date_in_path: str = DEFAULT_DATE_IN_PATH,
    pick_by: str = PickBy.PATH_DATE,
    format_options: Mapping[str, Any] | None = None,
    source_kind: str = SourceKind.FILES,
    api_paging: str = DEFAULT_API_PAGING,
    api_options: Mapping[str, Any] | None = None,
) -> list[str]:
    """The arguments after `python -m ingest` for one run; start and end may be templates (Airflow renders them).

    Options at their default are left out (the API's paging is always given with source kind api). Raises
    ValueError for a pick-by, source kind or paging style the CLI does not accept.
    """
    if pick_by not in tuple(PickBy):
        raise ValueError(f"pick_by must be one of {', '.join(PickBy)}, got {pick_by!r}")
    if source_kind not in tuple(SourceKind):
        raise ValueError(f"source_kind must be one of {', '.join(SourceKind)}, got {source_kind!r}")
    if api_paging not in API_PAGING:
        raise ValueError(f"api_paging must be one of {', '.join(API_PAGING)}, got {api_paging!r}")
    pairs: dict[str, str] = {
        Flag.PROVIDER: provider,
        Flag.FORMAT: source_format,
        Flag.LOCATION: location,
        Flag.FILE_GLOB: file_glob,
        Flag.DATE_IN_PATH: date_in_path,
    }
    if format_options:
        pairs[Flag.FORMAT_OPTIONS] = json.dumps(dict(format_options), sort_keys=True)
    if pick_by != PickBy.PATH_DATE:
        pairs[Flag.PICK_BY] = str(pick_by)
    if source_kind == SourceKind.API:
        pairs[Flag.SOURCE_KIND] = str(source_kind)
        pairs[Flag.API_PAGING] = api_paging
        if api_options:
            pairs[Flag.API_OPTIONS] = json.dumps(dict(api_options), sort_keys=True)
    pairs[Flag.START], pairs[Flag.END] = start, end
    return [RUN_COMMAND, *(str(item) for pair in pairs.items() for item in pair)]
