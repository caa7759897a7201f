"""The match_eidr task: runs the EIDR matcher (python -m eidr_matching match) over the assets dbt prepared."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

ASSETS_RELATION = "intermediate.int_titles_for_matching"
REGISTRY_PROVIDER = "eidr_registry"
WORKERS_ENV = "MEDIA_MATCH_WORKERS"  # matching processes; unset: every CPU the worker or pod grants


def registry_ever_loaded(dsn: str) -> bool:
    """True once a registry delivery has been loaded; before that, matching rejects assets instead of failing."""
    import psycopg2

    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("select to_regclass('raw.ingest_batches') is not null")
        if not cur.fetchone()[0]:
            return False
        cur.execute("select exists (select 1 from raw.ingest_batches where provider_id = %s)", (REGISTRY_PROVIDER,))
        return bool(cur.fetchone()[0])


def registry_reloaded_since_last_match(dsn: str) -> bool:
    """True when a registry batch finished after the last matching run: every asset must be re-matched then."""
    import psycopg2

    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("select to_regclass('eidr.match_runs') is not null, to_regclass('raw.ingest_batches') is not null")
        has_runs, has_batches = cur.fetchone()
        if not has_batches:
            return False
        cur.execute("select max(finished_at) from raw.ingest_batches where provider_id = %s", (REGISTRY_PROVIDER,))
        registry_loaded = cur.fetchone()[0]
        if registry_loaded is None or not has_runs:
            return registry_loaded is not None
        cur.execute("select max(finished_at) from eidr.match_runs")
        last_match = cur.fetchone()[0]
    return last_match is None or registry_loaded > last_match


def matching_command(
    full: bool,
    index_cache_dir: Path,
    summary_file: Path,
    environ: Mapping[str, str] | None = None,
    registry_loaded: bool = True,
    assets_relation: str = ASSETS_RELATION,
) -> list[str]:
    """The matcher's command line: the asset relation, the index cache, the worker setting and --full if asked.

    Until the first registry delivery the matcher rejects assets (reason: no registry) rather than failing the
    publish; once one was loaded, an empty mirror fails the task with the matcher's message. The benchmark runs
    this same command against its own asset relation.
    """
    env = os.environ if environ is None else environ
    workers = env.get(WORKERS_ENV, "").strip()
    if workers and not (workers.isdigit() and int(workers) > 0):
        raise ValueError(f"{WORKERS_ENV}={workers!r} is not a positive number of worker processes")
    return [
        sys.executable, "-m", "eidr_matching", "match", "--assets-relation", assets_relation,
        "--index-cache", str(index_cache_dir), "--summary-file", str(summary_file),
        *(["--workers", workers] if workers else []), *(["--full"] if full else []),
        *([] if registry_loaded else ["--allow-empty-registry"]),
    ]  # fmt: skip


def run_matching(log_line: Callable[[str], None]) -> dict[str, Any]:
    """Incremental match (full after a registry load) in a child process; returns the matcher's summary.

    The registry index is cached under the artifacts directory, so a delta after the first run does not rebuild it.
    """
    from media_platform.config.settings import PlatformSettings
    from media_platform.tasks.warehouse_conn import resolve_warehouse_dsn

    dsn = resolve_warehouse_dsn()
    return match_in_child(dsn, PlatformSettings.from_env().artifacts_dir / "eidr_index", log_line)


def match_in_child(
    dsn: str,
    cache_dir: Path,
    log_line: Callable[[str], None],
    assets_relation: str = ASSETS_RELATION,
    on_start: Callable[[subprocess.Popen[str]], None] | None = None,
) -> dict[str, Any]:
    """What the task does once it has its warehouse and cache directory (the benchmark runs this same path with
    its own asset relation): decide full or incremental, build the command, run it in a child, read its summary."""
    import tempfile

    from media_platform.tasks.ingest_local import local_ingest_env, read_summary, run_streaming

    full = registry_reloaded_since_last_match(dsn)
    with tempfile.TemporaryDirectory(prefix="eidr-match-") as tmp:
        summary_file = Path(tmp) / "summary.json"
        command = matching_command(
            full, cache_dir, summary_file, registry_loaded=registry_ever_loaded(dsn), assets_relation=assets_relation
        )
        tail = run_streaming(command, local_ingest_env(dsn), log_line, on_start)
        return {"full": full, **read_summary(summary_file, tail)}
