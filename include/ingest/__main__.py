"""Command line: `python -m ingest run ...` loads one provider's deliveries for one data interval into raw."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import datetime
from pathlib import Path

from ingest.contract import (
    API_PAGING,
    DEFAULT_API_PAGING,
    DEFAULT_DATE_IN_PATH,
    DEFAULT_FILE_GLOB,
    RUN_COMMAND,
    Flag,
    PickBy,
    SourceKind,
    format_names,
)
from ingest.models import IngestError

log = logging.getLogger("ingest")


def _aware_datetime(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO datetime like 2026-11-02T00:00:00+00:00, got {value!r}"
        ) from None
    if parsed.tzinfo is None:
        raise argparse.ArgumentTypeError(f"expected a timezone offset (e.g. +00:00) in {value!r}")
    return parsed


def _json_object(value: str) -> dict:
    import json

    try:
        parsed = json.loads(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected a JSON object, got {value!r}: {err}") from None
    if not isinstance(parsed, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object, got {type(parsed).__name__}")
    return parsed


def build_parser() -> argparse.ArgumentParser:
    """The CLI, built from ingest.contract: the Airflow side builds its arguments from the same module."""
    parser = argparse.ArgumentParser(prog="python -m ingest", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser(RUN_COMMAND, help="load one provider's deliveries for one data interval into raw")
    run.add_argument(Flag.PROVIDER, required=True, help="our provider id, e.g. demo_adi")
    run.add_argument(Flag.FORMAT, required=True, choices=format_names(), help="delivery format")
    run.add_argument(
        Flag.LOCATION,
        required=True,
        help="drop folder (absolute, or relative to $MEDIA_DROP_ROOT) or URL: file:///path, s3://bucket/prefix, "
        "sftp://host[:port]/path, https://host/path/; with --source-kind api the API's URL. Credentials come only "
        "from the environment (AWS_*, MEDIA_S3_ENDPOINT_URL, MEDIA_SFTP_*, MEDIA_HTTP_TOKEN, MEDIA_API_TOKEN)",
    )
    run.add_argument(
        Flag.FILE_GLOB, default=DEFAULT_FILE_GLOB, help="file name pattern, case-insensitive (default *.xml)"
    )
    run.add_argument(Flag.DATE_IN_PATH, default=DEFAULT_DATE_IN_PATH, help="strftime pattern of the delivery folders")
    run.add_argument(
        Flag.SOURCE_KIND,
        choices=tuple(SourceKind),
        default=SourceKind.FILES,
        help="files in a drop location, or a REST API",
    )
    run.add_argument(
        Flag.PICK_BY,
        choices=tuple(PickBy),
        default=PickBy.PATH_DATE,
        help="pick files by delivery-date folder (--date-in-path) or by modification time in the interval",
    )
    run.add_argument(
        Flag.API_PAGING, choices=API_PAGING, default=DEFAULT_API_PAGING, help="API paging: next cursor or page number"
    )
    run.add_argument(
        Flag.API_OPTIONS, type=_json_object, default={}, help="API field/parameter names and retry bounds, JSON"
    )
    run.add_argument(Flag.START, required=True, type=_aware_datetime, help="interval start (inclusive), ISO, tz-aware")
    run.add_argument(Flag.END, required=True, type=_aware_datetime, help="interval end (exclusive), ISO, tz-aware")
    run.add_argument(Flag.FORMAT_OPTIONS, type=_json_object, default={}, help="the format's settings as a JSON object")
    run.add_argument(Flag.SUMMARY_FILE, type=Path, help="also write the JSON summary here (e.g. XCom return.json)")
    return parser


def _run(args: argparse.Namespace) -> str:
    from ingest.run import RunRequest, run

    request = RunRequest(
        provider_id=args.provider,
        source_format=args.format,
        location=args.location,
        file_glob=args.file_glob,
        date_in_path=args.date_in_path,
        interval_start=args.start,
        interval_end=args.end,
        format_options=args.format_options,
        source_kind=args.source_kind,
        pick_by=args.pick_by,
        api_paging=args.api_paging,
        api_options=args.api_options,
    )
    summary = run(request).to_json()
    if args.summary_file:
        args.summary_file.parent.mkdir(parents=True, exist_ok=True)
        args.summary_file.write_text(summary + "\n", encoding="utf-8")
    return summary


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; the JSON result is the last stdout line, the log and any one-line error go to stderr."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        result = _run(args)
    except IngestError as err:
        print(f"ingest: error: {err}", file=sys.stderr)
        return err.exit_code
    except Exception as err:  # anything else: traceback in the log, then still one clear line and a non-zero exit
        from ingest.load.warehouse import describe_connection_lost, original_error

        cause = original_error(err)
        log.error("unexpected failure", exc_info=cause)
        lost = describe_connection_lost(err)
        print(f"ingest: error: {lost or f'{type(cause).__name__}: {cause}'}".splitlines()[0], file=sys.stderr)
        return 1
    print(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
