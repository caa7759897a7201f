"""What a delivery format declares: its name, raw table, columns, parser entry points and DDL."""

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

    `in_processes` lets a big batch be parsed by worker processes (ingest.parse.pool). It is off for CSV and JSON:
    pyarrow parses them mostly without holding the GIL, so the parser thread already overlaps with loading, and the
    workers only took CPU from PostgreSQL, the bound there (about 0.75x and 0.85x, see ingest/BENCHMARKS.md).

    `version_key` names the columns that identify one version of one asset (e.g. ADI's Asset_ID and version): of
    the records of a batch that share it, only the latest delivery's is loaded (warehouse.replace_interval), the
    others become quarantine rows saying which record superseded them.
    """

    name: str
    table: str
    columns: tuple[str, ...]
    parse_file: Callable[[bytes, str, Mapping[str, Any] | None], list[ParseOutcome]]
    ddl: str
    parse_many: (
        Callable[[Sequence[tuple[bytes, str]], Mapping[str, Any] | None], Sequence[Sequence[ParseResult]]] | None
    ) = None
    group_bytes: int = 0
    in_processes: bool = True
    version_key: tuple[str, ...] = ()
