"""Delivery formats the ingest CLI can read: each maps to a parse function and its raw table."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ingest.models import ParseOutcome, ParseResult


@dataclass(frozen=True)
class FormatSpec:
    """How to read one delivery format: a file becomes records for raw.<table> and quarantined records.

    parse_file(data, source_file, options) returns a list because some formats (spreadsheets, feeds) hold many
    records per file; it must never raise: a problem is a Quarantined outcome. `options` are the format's settings
    from the provider YAML (`--format-options` JSON), e.g. a CSV column mapping. `ddl` creates raw.<table>.

    parse_many, when a format has one, parses several files at once, one outcome list per file, and gives the same
    records faster: most of them in RecordBlocks (parsed column-wise, loaded with binary COPY), the rest as
    parse_file would. Ingest runs use it; parse_file stays the reference that tests compare it with. Files are
    handed to it in groups of up to `group_bytes` (one at a time when 0): larger groups convert faster, smaller ones
    start loading sooner.

    `in_processes` lets a big batch be parsed by worker processes (ingest.parse_pool). It is off for CSV and JSON:
    pyarrow parses them mostly without holding the GIL, so the parser thread already overlaps with loading, and the
    workers only took CPU from PostgreSQL, the bound there (about 0.75x and 0.85x, see ingest/BENCHMARKS.md).
    """

    name: str
    table: str
    columns: tuple[str, ...]
    parse_file: Callable[[bytes, str, Mapping[str, Any] | None], list[ParseOutcome]]
    ddl: str
    parse_many: Callable[[Sequence[tuple[bytes, str]], Mapping[str, Any] | None], list[list[ParseResult]]] | None = None
    group_bytes: int = 0
    in_processes: bool = True


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
    from ingest.formats import adi, avails, avails_xlsx, eidr_registry, json_records, mec, mmc, tabular
    from ingest.formats.titles_common import TITLE_COLUMNS as TITLES

    csv, json = tabular.parse_csv_files, json_records.parse_json_files

    specs = [
        FormatSpec("adi", "adi_titles", adi.TITLE_COLUMNS, adi.parse_adi_records, adi.DDL),
        FormatSpec("csv", "csv_titles", TITLES, tabular.parse_csv_records, tabular.DDL, csv, in_processes=False),
        FormatSpec(
            "json", "json_titles", TITLES, json_records.parse_json_records, json_records.DDL, json, 4 << 20, False
        ),
        FormatSpec(
            "eidr_registry",
            "eidr_registry",
            eidr_registry.REGISTRY_COLUMNS,
            eidr_registry.parse_registry_records,
            eidr_registry.DDL,
        ),
        FormatSpec("mec", "mec_titles", mec.MEC_COLUMNS, mec.parse_mec_records, mec.DDL),
        FormatSpec("mmc", "mmc_manifests", mmc.MMC_COLUMNS, mmc.parse_mmc_records, mmc.DDL),
        FormatSpec("avails_xml", "avails", avails.AVAIL_COLUMNS, avails.parse_avails_xml, avails.DDL),
        FormatSpec("avails_xlsx", "avails", avails.AVAIL_COLUMNS, avails_xlsx.parse_avails_xlsx, avails.DDL),
    ]
    return {spec.name: spec for spec in specs}
