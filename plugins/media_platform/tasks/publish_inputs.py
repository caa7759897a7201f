"""Whether publish_reporting has anything to do: a fingerprint of everything the marts are built from.

The marts depend on the ingest batches (every provider's deliveries and the EIDR registry mirror), the reviewers'
EIDR overrides and the dbt project itself. When none of them changed since the last successful publish, the run
skips its build, audit and publish (a no-change publish costs a few queries) and says so in its log.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

INPUTS_TABLE = "audit.publish_inputs"

_DDL = f"""
-- `create schema if not exists` needs the right to create schemas, which the warehouse roles lack
do $$ begin if to_regnamespace('audit') is null then create schema audit; end if; end $$;
create table if not exists {INPUTS_TABLE} (
    one_row boolean primary key default true check (one_row),
    fingerprint text not null,
    run_id text,
    recorded_at timestamptz not null default now()
)
"""


def current_fingerprint(conn: Any, project_checksum: str) -> str:
    """The inputs as they are now: each batch id with its finish time (a re-run interval or a withdrawn delivery
    replaces its batch, a registry load adds one), the overrides' count and latest change, and the dbt project.
    Cost: one pass over the batches (one row per provider and interval), not over the records."""
    with conn.cursor() as cur:
        cur.execute("select to_regclass('raw.ingest_batches') is not null, to_regclass('eidr.overrides') is not null")
        has_batches, has_overrides = cur.fetchone()
        batches = None
        if has_batches:
            cur.execute(
                "select count(*), md5(coalesce(string_agg(batch_id || '@' || finished_at::text, ',' order by batch_id),"
                " '')) from raw.ingest_batches"
            )
            batches = list(cur.fetchone())
        overrides = None
        if has_overrides:
            cur.execute("select count(*), max(decided_at)::text, max(superseded_at)::text from eidr.overrides")
            overrides = list(cur.fetchone())
    parts = {"batches": batches, "overrides": overrides, "project": project_checksum}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode("utf-8")).hexdigest()


def last_published_fingerprint(conn: Any) -> str | None:
    """The fingerprint recorded by the last publish that completed, or None before the first one."""
    with conn.cursor() as cur:
        cur.execute("select to_regclass(%s) is not null", (INPUTS_TABLE,))
        if not cur.fetchone()[0]:
            return None
        cur.execute(f"select fingerprint from {INPUTS_TABLE}")  # noqa: S608 - a constant
        row = cur.fetchone()
    return row[0] if row else None


def record_published_fingerprint(conn: Any, fingerprint: str, run_id: str | None) -> None:
    """Remember what the completed publish was built from (the fingerprint taken before its build, so inputs that
    arrived during the run make the next run build them)."""
    with conn, conn.cursor() as cur:
        cur.execute(_DDL)
        cur.execute(
            f"insert into {INPUTS_TABLE} (fingerprint, run_id) values (%s, %s)"  # noqa: S608 - a constant
            " on conflict (one_row) do update set fingerprint = excluded.fingerprint, run_id = excluded.run_id,"
            " recorded_at = now()",
            (fingerprint, run_id),
        )
