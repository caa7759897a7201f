"""The match_eidr task: runs the EIDR matcher (python -m eidr_matching match) over the assets dbt prepared."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

ASSETS_RELATION = "intermediate.int_titles_for_matching"
REGISTRY_PROVIDER = "eidr_registry"


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


def run_matching(log_line: Callable[[str], None]) -> dict[str, Any]:
    """Incremental match (full after a registry load) in a child process; returns the matcher's summary."""
    import tempfile
    from pathlib import Path

    from media_platform.tasks.ingest_local import local_ingest_env, read_summary, run_streaming
    from media_platform.tasks.warehouse_conn import resolve_warehouse_dsn

    dsn = resolve_warehouse_dsn()
    full = registry_reloaded_since_last_match(dsn)
    with tempfile.TemporaryDirectory(prefix="eidr-match-") as tmp:
        summary_file = Path(tmp) / "summary.json"
        command = [
            sys.executable, "-m", "eidr_matching", "match", "--assets-relation", ASSETS_RELATION,
            "--summary-file", str(summary_file), *(["--full"] if full else []),
        ]  # fmt: skip
        tail = run_streaming(command, local_ingest_env(dsn), log_line)
        return {"full": full, **read_summary(summary_file, tail)}
