"""Command line: `python -m eidr_matching match|override|review-queue|evaluate`."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

log = logging.getLogger("eidr_matching")


def build_parser() -> argparse.ArgumentParser:
    """The CLI contract the Airflow task and operators depend on."""
    parser = argparse.ArgumentParser(prog="python -m eidr_matching", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    match = commands.add_parser("match", help="match new or changed assets against the registry mirror")
    source = match.add_mutually_exclusive_group()
    source.add_argument("--assets-relation", help="schema.table of assets (default %(default)s)", default=None)
    source.add_argument("--assets-sql", help="a SELECT returning the asset columns instead of a relation")
    match.add_argument("--full", action="store_true", help="re-match every asset (e.g. after a registry refresh)")
    match.add_argument("--config", type=Path, help="matching config YAML (default include/eidr_matching/matching.yaml)")
    match.add_argument(
        "--workers",
        type=int,
        default=None,
        help="matching processes (default $EIDR_MATCH_WORKERS, else the CPUs of the machine or pod's cgroup quota)",
    )
    match.add_argument("--chunk-size", type=int, default=None, help="assets read, matched and written at a time")
    match.add_argument(
        "--index-cache",
        type=Path,
        default=None,
        help="directory caching the registry index between runs (default $EIDR_INDEX_CACHE_DIR; none: rebuilt)",
    )
    match.add_argument("--no-index-cache", action="store_true", help="build the registry index, do not cache it")
    match.add_argument(
        "--allow-empty-registry",
        action="store_true",
        help="reject every asset (reason: no registry) instead of failing when the registry mirror is empty",
    )
    match.add_argument("--dsn", help="warehouse libpq URL (default $WAREHOUSE_DSN)")
    match.add_argument("--summary-file", type=Path, help="also write the JSON summary here (e.g. XCom return.json)")

    override = commands.add_parser("override", help="record an operator decision for an asset (always wins)")
    override.add_argument("--asset-key", required=True)
    target = override.add_mutually_exclusive_group(required=True)
    target.add_argument("--eidr-id", help="the EIDR content ID this asset is")
    target.add_argument("--no-eidr", action="store_true", help="this asset has no EIDR ID (stop proposing one)")
    override.add_argument("--by", required=True, help="who decided")
    override.add_argument("--reason", required=True, help="why")
    override.add_argument("--dsn")

    queue = commands.add_parser("review-queue", help="print assets in the review band with their candidates")
    queue.add_argument("--limit", type=int, default=50)
    queue.add_argument("--provider", help="only this provider's assets")
    queue.add_argument("--json", action="store_true", help="one JSON object per asset instead of text")
    queue.add_argument("--dsn")

    evaluate = commands.add_parser(
        "evaluate",
        help="score the matcher on a labelled set: precision, recall and review share per band (no warehouse)",
    )
    evaluate.add_argument("--registry", type=Path, required=True, help="EIDR bulk export, CSV or XML")
    evaluate.add_argument("--assets", type=Path, required=True, help="assets CSV (layout in the README)")
    evaluate.add_argument("--truth", type=Path, required=True, help="truth CSV: asset_key, eidr_id, perturbation")
    evaluate.add_argument("--config", type=Path, help="matching config YAML (default matching.yaml)")
    evaluate.add_argument("--json", action="store_true", help="one JSON object instead of the table")
    return parser


def _connect(dsn: str | None):  # noqa: ANN202 - psycopg2 connection
    from ingest.load.warehouse import connect

    return connect(dsn)


def _config(path: Path | None):  # noqa: ANN202
    from eidr_matching.scoring import load_config

    return load_config(path)


def _match(args: argparse.Namespace) -> str:
    from eidr_matching.index_cache import default_cache_dir
    from eidr_matching.parallel import DEFAULT_CHUNK_SIZE
    from eidr_matching.store import assets_query, run_matching

    conn = _connect(args.dsn)
    try:
        summary = run_matching(
            conn,
            assets_query(args.assets_relation, args.assets_sql),
            _config(args.config),
            args.full,
            args.workers,
            chunk_size=args.chunk_size or DEFAULT_CHUNK_SIZE,
            index_cache_dir=None if args.no_index_cache else args.index_cache or default_cache_dir(),
            allow_empty_registry=args.allow_empty_registry,
        ).to_json()
    finally:
        conn.close()
    if args.summary_file:
        args.summary_file.parent.mkdir(parents=True, exist_ok=True)
        args.summary_file.write_text(summary + "\n", encoding="utf-8")
    return summary


def _override(args: argparse.Namespace) -> str:
    from eidr_matching.store import record_override

    conn = _connect(args.dsn)
    try:
        done = record_override(conn, args.asset_key, None if args.no_eidr else args.eidr_id, args.by, args.reason)
    finally:
        conn.close()
    return json.dumps({**done.__dict__, "decided_at": done.decided_at.isoformat()})


def _queue(args: argparse.Namespace) -> str:
    from eidr_matching.store import render_queue, review_queue

    conn = _connect(args.dsn)
    try:
        rows = review_queue(conn, args.limit, args.provider)
    finally:
        conn.close()
    if args.json:
        return "\n".join(json.dumps(r, default=str) for r in rows)
    return "\n".join(render_queue(rows))


def _evaluate(args: argparse.Namespace) -> str:
    from eidr_matching.evaluate import evaluate_files, render_json

    report = evaluate_files(args.registry, args.assets, args.truth, _config(args.config))
    return render_json(report) if args.json else report.render()


COMMANDS = {
    "evaluate": _evaluate,
    "match": _match,
    "override": _override,
    "review-queue": _queue,
}


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; results on stdout (JSON for match/override), the log and any one-line error on stderr."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    from eidr_matching.evaluate import EvaluationError
    from eidr_matching.parallel import WorkerDied
    from eidr_matching.registry import RegistryError
    from eidr_matching.scoring import ConfigError
    from eidr_matching.store import StoreError
    from ingest.models import IngestError

    try:
        result = COMMANDS[args.command](args)
    except (StoreError, ConfigError, IngestError, RegistryError, EvaluationError, WorkerDied) as err:
        print(f"eidr_matching: error: {err}", file=sys.stderr)
        return 2 if isinstance(err, ConfigError) else 1
    except Exception as err:
        log.error("unexpected failure", exc_info=True)
        print(f"eidr_matching: error: {type(err).__name__}: {err}".splitlines()[0], file=sys.stderr)
        return 1
    print(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
