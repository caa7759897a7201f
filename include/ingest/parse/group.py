"""One group of files parsed in this process: outcomes in order, the records as one RecordBlock when they fit."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from ingest.load import record_blocks
from ingest.models import ParsedRecord, ParseResult, Quarantined
from ingest.parse.formats.spec import FormatSpec
from ingest.record_text import raw_text

log = logging.getLogger("ingest")


def parse_group(
    spec: FormatSpec,
    group: Sequence[tuple[bytes, str]],
    options: Mapping[str, Any] | None,
    kinds: Mapping[str, str] | None = None,
) -> list[ParseResult]:
    """The outcomes of a group of files (data, relative path), in order; with `kinds`, the records among them as
    one RecordBlock (record_blocks.records_block) unless a value does not allow it. Never raises for a bad file."""
    outcomes = [outcome for found in _parse_safely(spec, group, options) for outcome in found]
    if kinds is None:
        return outcomes
    records = [outcome for outcome in outcomes if isinstance(outcome, ParsedRecord)]
    block = record_blocks.records_block(records, kinds)
    if block is None:
        return outcomes
    others: list[ParseResult] = [outcome for outcome in outcomes if not isinstance(outcome, ParsedRecord)]
    return others + [block]


def _parse_safely(
    spec: FormatSpec, files: Sequence[tuple[bytes, str]], options: Mapping[str, Any] | None
) -> list[Sequence[ParseResult]]:
    """One outcome list per file: parse_many when the format has one, else parse_file file by file. A file without
    outcomes gets a "no records" quarantine row; a parser bug quarantines the file, it never aborts the batch."""
    outcomes: Sequence[Sequence[ParseResult]] | None = None
    if spec.parse_many is not None and files:
        try:
            outcomes = spec.parse_many(files, options)
        except Exception:  # noqa: BLE001 - parse each file with the reference parser instead
            log.exception("parse_many failed; parsing the %d file(s) one by one", len(files))
    if outcomes is None:
        outcomes = [_parse_file(spec, data, relative, options) for data, relative in files]
    return [
        found or [Quarantined(relative, relative, "no records in file", raw_text(data))]
        for found, (data, relative) in zip(outcomes, files, strict=True)
    ]


def _parse_file(spec: FormatSpec, data: bytes, relative: str, options: Mapping[str, Any] | None) -> list[ParseResult]:
    try:
        return list(spec.parse_file(data, relative, options))
    except Exception as err:  # a parser bug must still not lose the file or abort the batch
        reason = f"unexpected parser error: {type(err).__name__}: {err}"
        return [Quarantined(relative, relative, reason, raw_text(data))]
