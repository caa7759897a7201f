"""Delivery formats the ingest CLI can read: each maps to a parse function and its raw table."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ingest.models import ParseOutcome


@dataclass(frozen=True)
class FormatSpec:
    """How to read one delivery format: a file becomes records for raw.<table> and quarantined records.

    parse_file(data, source_file, options) returns a list because some formats (spreadsheets, feeds) hold many
    records per file; it must never raise: a problem is a Quarantined outcome. `options` are the format's settings
    from the provider YAML (`--format-options` JSON), e.g. a CSV column mapping. `ddl` creates raw.<table>.
    """

    name: str
    table: str
    columns: tuple[str, ...]
    parse_file: Callable[[bytes, str, Mapping[str, Any] | None], list[ParseOutcome]]
    ddl: str


def get_format(name: str) -> FormatSpec:
    """The spec for a format name; raises KeyError for an unknown one."""
    return _formats()[name]


def all_formats() -> list[FormatSpec]:
    """Every registered format."""
    return list(_formats().values())


def format_names() -> tuple[str, ...]:
    """Names accepted by `--format`."""
    return tuple(_formats())


def _formats() -> dict[str, FormatSpec]:
    from ingest.formats import adi

    specs = [FormatSpec("adi", "adi_titles", adi.TITLE_COLUMNS, adi.parse_adi_records, adi.DDL)]
    return {spec.name: spec for spec in specs}
