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


def records_from_export(data: bytes, source_file: str = "registry") -> tuple[list[RegistryRecord], list[str]]:
    """Parse a CSV or XML bulk export in memory: the records and the quarantine reasons of rows that failed."""
    from ingest.models import ParsedRecord
    from ingest.parse.formats.eidr_registry import parse_registry_records

    outcomes = parse_registry_records(data, source_file)
    records = records_from_columns(o.columns for o in outcomes if isinstance(o, ParsedRecord))
    problems = [f"{o.source_location}: {o.reason}" for o in outcomes if not isinstance(o, ParsedRecord)]
    return records, problems


def load_export(path: Path) -> tuple[list[RegistryRecord], list[str]]:
    """records_from_export for a file on disk."""
    return records_from_export(path.read_bytes(), path.name)
