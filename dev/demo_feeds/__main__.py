"""Command line: `python -m demo_feeds adi|eidr-registry ...` writes demo deliveries into a drop folder."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date


def build_parser() -> argparse.ArgumentParser:
    """One subcommand per feed; each prints what it wrote as one JSON line."""
    parser = argparse.ArgumentParser(prog="python -m demo_feeds", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    adi = commands.add_parser("adi", help="write deterministic demo ADI deliveries into a drop folder")
    adi.add_argument("--provider", default="demo_adi", help="provider id, used in asset ids")
    adi.add_argument("--location", required=True, help="drop folder: absolute, or relative to $MEDIA_DROP_ROOT")
    adi.add_argument("--start-date", required=True, type=date.fromisoformat, help="first delivery day, YYYY-MM-DD")
    adi.add_argument("--days", type=int, default=3, help="number of delivery days")
    adi.add_argument("--seed", type=int, default=7, help="random seed; same seed, same files")

    registry = commands.add_parser("eidr-registry", help="write the demo EIDR registry export (CSV) into a drop folder")
    registry.add_argument("--location", required=True, help="drop folder: absolute, or relative to $MEDIA_DROP_ROOT")
    registry.add_argument("--start-date", required=True, type=date.fromisoformat, help="export date, YYYY-MM-DD")
    registry.add_argument("--seed", type=int, default=7, help="same seed as the demo ADI feed, so its IDs agree")
    registry.add_argument("--size", choices=("demo", "small"), default="demo")
    return parser


def _adi(args: argparse.Namespace) -> str:
    from demo_feeds.adi import write_demo_data
    from ingest.discover.transports.local import drop_path
    from ingest.models import UsageError

    if args.days < 1:
        raise UsageError(f"--days must be at least 1, got {args.days}")
    return write_demo_data(drop_path(args.location), args.provider, args.start_date, args.days, args.seed).to_json()


def _eidr_registry(args: argparse.Namespace) -> str:
    from demo_feeds.eidr_registry import write_demo_registry
    from ingest.discover.transports.local import drop_path

    location = drop_path(args.location, {"MEDIA_DROP_ROOT": ".local/drop", **os.environ})
    return json.dumps(write_demo_registry(location, args.start_date, args.seed, args.size))


COMMANDS = {"adi": _adi, "eidr-registry": _eidr_registry}


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; the JSON summary on stdout, a one-line error on stderr (exit 2 for bad arguments)."""
    from ingest.models import IngestError

    args = build_parser().parse_args(argv)
    try:
        result = COMMANDS[args.command](args)
    except IngestError as err:
        print(f"demo_feeds: error: {err}", file=sys.stderr)
        return err.exit_code
    print(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
