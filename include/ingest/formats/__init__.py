"""Delivery formats the ingest CLI can read: each maps to a parse function and its raw table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ingest.models import ParseOutcome


@dataclass(frozen=True)
class FormatSpec:
    """How to read one delivery format: a file becomes records for raw.<table> and quarantined records.

    parse_file returns a list because some formats (spreadsheets, feeds) hold many records per file;
    it must never raise: a problem is a Quarantined outcome.
    """

    name: str
    table: str
    columns: tuple[str, ...]
    parse_file: Callable[[bytes, str], list[ParseOutcome]]


def get_format(name: str) -> FormatSpec:
    """The spec for a format name; raises KeyError for an unknown one."""
    return _formats()[name]


def format_names() -> tuple[str, ...]:
    """Names accepted by `--format`."""
    return tuple(_formats())


def _formats() -> dict[str, FormatSpec]:
    from ingest.formats import adi

    return {"adi": FormatSpec("adi", "adi_titles", adi.TITLE_COLUMNS, adi.parse_adi_records)}
