"""Registry loading helpers: raw.eidr_registry rows or a bulk export file become RegistryRecord values."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from eidr_matching.models import RegistryRecord

ACTIVE_STATUSES = frozenset({"valid"})


def record_from_columns(columns: Mapping[str, Any]) -> RegistryRecord:
    """A RegistryRecord from the columns of raw.eidr_registry (or the format parser's ParsedRecord.columns)."""
    alternates = columns.get("alternate_names") or ()
    return RegistryRecord(
        eidr_id=columns["eidr_id"],
        resource_name=columns["resource_name"],
        alternate_names=tuple(alternates),
        referent_type=columns.get("referent_type"),
        structural_type=columns.get("structural_type"),
        release_year=columns.get("release_year"),
        length_minutes=columns.get("approximate_length_minutes"),
        country=columns.get("country_of_origin"),
        directors=columns.get("directors"),
        parent_eidr_id=columns.get("parent_eidr_id"),
        season_number=columns.get("season_number"),
        episode_number=columns.get("episode_number"),
    )


def records_from_columns(rows: Iterable[Mapping[str, Any]]) -> list[RegistryRecord]:
    """Records of active (status valid) rows; deleted and alias records are never matched."""
    return [
        record_from_columns(row) for row in rows if (row.get("registry_status") or "valid").lower() in ACTIVE_STATUSES
    ]


class RegistryError(ValueError):
    """The registry cannot be matched against (an unusable export, an empty or absent mirror)."""


class EmptyRegistryError(RegistryError):
    """No active registry record to match against: matching would reject every asset, so it refuses to run."""


class RegistryExportError(RegistryError):
    """A registry export that cannot be used as a whole: unreadable, a header that does not say what the columns
    are, or no active records. Names the file and what was expected."""


def records_from_export(data: bytes, source_file: str = "registry") -> tuple[list[RegistryRecord], list[str]]:
    """Parse a CSV or XML bulk export in memory: the records and the quarantine reasons of rows that failed.

    A file-level problem (a CSV header with unknown or missing required columns, malformed XML, an empty file) or
    an export without one active record raises RegistryExportError instead of yielding an empty registry, which
    would reject every asset.
    """
    from ingest.models import ParsedRecord
    from ingest.parse.formats.eidr_registry import parse_registry_records

    outcomes = parse_registry_records(data, source_file)
    whole_file = [
        o for o in outcomes if not isinstance(o, ParsedRecord) and o.source_location in _file_level(source_file)
    ]
    if whole_file:
        raise RegistryExportError(f"{source_file}: registry export refused: {whole_file[0].reason}")
    records = records_from_columns(o.columns for o in outcomes if isinstance(o, ParsedRecord))
    problems = [f"{o.source_location}: {o.reason}" for o in outcomes if not isinstance(o, ParsedRecord)]
    if not records:
        detail = f"; {len(problems)} rows quarantined, first: {problems[0]}" if problems else ""
        raise RegistryExportError(f"{source_file}: registry export has no active (status valid) records{detail}")
    return records, problems


def _file_level(source_file: str) -> set[str]:
    return {source_file, f"{source_file}:1"}


def load_export(path: Path) -> tuple[list[RegistryRecord], list[str]]:
    """records_from_export for a file on disk (a missing or unreadable file raises RegistryExportError)."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise RegistryExportError(f"{path}: cannot read the registry export: {err.strerror or err}") from err
    return records_from_export(data, str(path))
