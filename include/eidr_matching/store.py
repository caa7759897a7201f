"""Warehouse I/O: the eidr schema, incremental matching runs, overrides and the review queue."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from psycopg2 import sql
from psycopg2.extensions import connection as Connection
from psycopg2.extras import RealDictCursor, execute_values

from eidr_matching.models import Asset, Decision, RegistryRecord
from eidr_matching.registry import record_from_columns
from eidr_matching.scoring import Band, MatchConfig, Method

DEFAULT_ASSETS_RELATION = "intermediate.int_titles_for_matching"
_LOCK_KEY = 5_240_001  # one matching run at a time

DDL = """
create schema if not exists eidr;

create table if not exists eidr.match_results (
    asset_key text primary key,
    provider_id text,
    eidr_id text,
    method text not null,
    band text not null,
    score double precision,
    reason text,
    provided_eidr_id text,
    top_candidate_eidr_id text,
    decided_at timestamptz not null,
    asset_updated_at timestamptz,
    run_id text not null
);
create index if not exists match_results_band_idx on eidr.match_results (band);

create table if not exists eidr.match_candidates (
    asset_key text not null,
    eidr_id text not null,
    score double precision not null,
    rank int not null,
    field_scores jsonb not null,
    matched_at timestamptz not null,
    primary key (asset_key, rank)
);

create table if not exists eidr.overrides (
    override_id bigserial primary key,
    asset_key text not null,
    eidr_id text,
    decided_by text not null,
    decided_at timestamptz not null,
    reason text not null,
    superseded_at timestamptz
);
create unique index if not exists overrides_one_active_idx on eidr.overrides (asset_key) where superseded_at is null;

create table if not exists eidr.match_runs (
    run_id text primary key,
    started_at timestamptz not null,
    finished_at timestamptz not null,
    full_run boolean not null,
    registry_records int not null,
    assets_in_source int not null,
    assets_matched int not null,
    bands jsonb not null
);
"""
RESULT_COLUMNS = (
    "asset_key", "provider_id", "eidr_id", "method", "band", "score", "reason", "provided_eidr_id",
    "top_candidate_eidr_id", "decided_at", "asset_updated_at", "run_id",
)  # fmt: skip


class StoreError(Exception):
    """A matching run or an override cannot proceed; reported as one line by the CLI."""


@dataclass(frozen=True)
class Override:
    """An operator's active decision for an asset: an EIDR ID, or None meaning 'this asset has no EIDR ID'."""

    asset_key: str
    eidr_id: str | None
    decided_by: str
    decided_at: datetime
    reason: str


@dataclass(frozen=True)
class RunSummary:
    """What a matching run did; printed as one JSON line."""

    run_id: str
    full_run: bool
    registry_records: int
    assets_in_source: int
    assets_matched: int
    bands: dict[str, int]
    seconds: float

    def to_json(self) -> str:
        """One JSON line for the CLI's stdout and XCom."""
        return json.dumps(self.__dict__)


def ensure_tables(conn: Connection) -> None:
    """Create the eidr schema's tables when missing (safe when several runs start at once)."""
    with conn, conn.cursor() as cur:
        cur.execute("select pg_advisory_xact_lock(%s)", (_LOCK_KEY + 1,))
        cur.execute(DDL)


def assets_query(relation: str | None = None, assets_sql: str | None = None) -> sql.Composable:
    """The SELECT that yields assets: a relation name (schema.table) or a SQL query given by the caller."""
    if assets_sql:
        return sql.SQL(assets_sql.strip().rstrip(";"))
    parts = (relation or DEFAULT_ASSETS_RELATION).split(".")
    if len(parts) > 2 or not all(parts):
        raise StoreError(f"expected a relation like schema.table, got {relation!r}")
    return sql.SQL("select * from {}").format(sql.Identifier(*parts))


def load_registry(conn: Connection) -> list[RegistryRecord]:
    """The registry mirror: the latest loaded version of each EIDR ID in raw.eidr_registry, active records only."""
    query = """
        select distinct on (eidr_id)
            eidr_id, resource_name, alternate_names, referent_type, structural_type, release_year,
            approximate_length_minutes, country_of_origin, directors, parent_eidr_id, season_number, episode_number,
            registry_status
        from raw.eidr_registry
        order by eidr_id, interval_end desc, loaded_at desc
    """
    records = []
    with conn.cursor(name=f"registry_{uuid.uuid4().hex[:8]}", cursor_factory=RealDictCursor) as cur:
        cur.itersize = 20_000
        cur.execute(query)
        for row in cur:
            if (row["registry_status"] or "valid").lower() == "valid":
                records.append(record_from_columns(row))
    conn.rollback()
    return records


def _asset(row: Mapping[str, Any]) -> Asset:
    from ingest.eidr import parse_eidr

    alternates = row.get("alternate_titles")
    if isinstance(alternates, str):
        try:
            alternates = json.loads(alternates)
        except ValueError:
            alternates = alternates.split("|")
    status = row.get("eidr_status")
    provided = parse_eidr(row.get("eidr_id")).canonical if row.get("eidr_id") and status in (None, "valid") else None
    return Asset(
        asset_key=str(row["asset_key"]),
        provider_id=row.get("provider_id"),
        title=row.get("title"),
        alternate_titles=tuple(a for a in alternates or () if isinstance(a, str) and a.strip()),
        release_year=row.get("release_year"),
        runtime_minutes=row.get("runtime_minutes"),
        directors=row.get("directors"),
        country=row.get("country"),
        series_title=row.get("series_title"),
        season_number=row.get("season_number"),
        episode_number=row.get("episode_number"),
        eidr_id=provided,
        eidr_status="valid" if provided else status,
        updated_at=row.get("updated_at"),
    )


def assets_to_match(conn: Connection, source: sql.Composable, full: bool = False) -> tuple[list[Asset], int]:
    """New assets and those whose updated_at is newer than their last result (all with full); and the source size."""
    query = sql.SQL(
        """
        with src as ({source})
        select src.*, (select count(*) from src) as source_rows
        from src
        left join eidr.match_results r on r.asset_key = src.asset_key::text
        where {condition}
        """
    ).format(
        source=source,
        condition=sql.SQL(
            "true"
            if full
            else "r.asset_key is null or src.updated_at > r.asset_updated_at"
            " or (r.asset_updated_at is null and src.updated_at is not null)"
        ),
    )
    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute(query)
        rows = cur.fetchall()
        if rows:
            total = int(rows[0]["source_rows"])
        else:
            cur.execute(sql.SQL("select count(*) as n from ({}) s").format(source))
            total = int(cur.fetchone()["n"])
    conn.rollback()
    return [_asset(row) for row in rows], total


def active_overrides(conn: Connection, asset_keys: Sequence[str] | None = None) -> dict[str, Override]:
    """Active overrides (not superseded), by asset key; all of them, or those of the given assets."""
    query = "select asset_key, eidr_id, decided_by, decided_at, reason from eidr.overrides where superseded_at is null"
    params: tuple = ()
    if asset_keys is not None:
        query += " and asset_key = any(%s)"
        params = (list(asset_keys),)
    with conn.cursor() as cur:
        cur.execute(query, params)
        found = {row[0]: Override(*row) for row in cur.fetchall()}
    conn.rollback()
    return found


def _override_row(override: Override, base: Mapping[str, Any], run_id: str, now: datetime) -> tuple:
    reason = f"override by {override.decided_by}: {override.reason}"
    return (
        override.asset_key, base.get("provider_id"), override.eidr_id, Method.OVERRIDE.value, Band.OVERRIDE.value,
        None, reason, base.get("provided_eidr_id"), base.get("top_candidate_eidr_id"), now,
        base.get("asset_updated_at"), run_id,
    )  # fmt: skip


def write_decisions(
    conn: Connection, assets: Sequence[Asset], decisions: Sequence[Decision], run_id: str, now: datetime
) -> dict[str, int]:
    """Replace the assets' candidates and results in one transaction; active overrides win over the matcher."""
    keys = [a.asset_key for a in assets]
    overrides = active_overrides(conn, keys)
    results, candidates = [], []
    bands: dict[str, int] = {}
    for asset, decision in zip(assets, decisions, strict=True):
        base = {
            "provider_id": asset.provider_id,
            "provided_eidr_id": decision.provided_eidr_id or asset.eidr_id,
            "top_candidate_eidr_id": decision.top_candidate,
            "asset_updated_at": asset.updated_at,
        }
        override = overrides.get(asset.asset_key)
        if override is not None:
            row = _override_row(override, base, run_id, now)
        else:
            row = (
                asset.asset_key, asset.provider_id, decision.eidr_id, str(decision.method), str(decision.band),
                decision.score, decision.reason, base["provided_eidr_id"], decision.top_candidate, now,
                asset.updated_at, run_id,
            )  # fmt: skip
        results.append(row)
        bands[row[4]] = bands.get(row[4], 0) + 1
        for rank, candidate in enumerate(decision.candidates, start=1):
            field_scores = json.dumps(candidate.as_json())
            candidates.append((asset.asset_key, candidate.eidr_id, round(candidate.score, 4), rank, field_scores, now))
    with conn, conn.cursor() as cur:
        cur.execute("delete from eidr.match_candidates where asset_key = any(%s)", (keys,))
        execute_values(
            cur,
            "insert into eidr.match_candidates (asset_key, eidr_id, score, rank, field_scores, matched_at) values %s",
            candidates,
            page_size=5000,
        )
        _upsert_results(cur, results)
    return bands


def _upsert_results(cur: Any, rows: Sequence[tuple]) -> None:
    updates = ", ".join(f"{c} = excluded.{c}" for c in RESULT_COLUMNS[1:])
    execute_values(
        cur,
        f"insert into eidr.match_results ({', '.join(RESULT_COLUMNS)}) values %s "
        f"on conflict (asset_key) do update set {updates}",
        rows,
        page_size=5000,
    )


def run_matching(
    conn: Connection,
    source: sql.Composable,
    config: MatchConfig | None = None,
    full: bool = False,
    workers: int = 1,
    now: datetime | None = None,
) -> RunSummary:
    """One incremental matching run: only new or changed assets (all with full) are matched and written."""
    from eidr_matching.parallel import match_all

    clock = time.monotonic()
    started = now or datetime.now(UTC)
    run_id = f"match-{started:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    ensure_tables(conn)
    from ingest.load import warehouse
    from ingest.parse.formats import get_format

    warehouse.ensure_tables(conn, get_format("eidr_registry"))
    with conn.cursor() as cur:
        cur.execute("select pg_try_advisory_lock(%s)", (_LOCK_KEY,))
        if not cur.fetchone()[0]:
            raise StoreError("another matching run holds the lock; try again when it has finished")
    try:
        assets, total = assets_to_match(conn, source, full)
        records = load_registry(conn) if assets else []
        decisions = match_all(records, assets, config, workers) if assets else []
        bands = write_decisions(conn, assets, decisions, run_id, started) if assets else {}
        summary = RunSummary(run_id, full, len(records), total, len(assets), bands, round(time.monotonic() - clock, 3))
        with conn, conn.cursor() as cur:
            cur.execute(
                "insert into eidr.match_runs values (%s, %s, %s, %s, %s, %s, %s, %s)",
                (run_id, started, datetime.now(UTC), full, len(records), total, len(assets), json.dumps(bands)),
            )
    finally:
        with conn.cursor() as cur:
            cur.execute("select pg_advisory_unlock(%s)", (_LOCK_KEY,))
        conn.commit()
    return summary


def record_override(
    conn: Connection, asset_key: str, eidr_id: str | None, decided_by: str, reason: str, now: datetime | None = None
) -> Override:
    """Append an operator decision (None = 'no EIDR ID'); the previous active one is superseded, never deleted.

    The asset's match result switches to method/band 'override' at once, and every later run keeps it so.
    """
    from ingest.eidr import parse_eidr

    if not decided_by.strip() or not reason.strip():
        raise StoreError("an override needs who decided (--by) and why (--reason)")
    canonical = None
    if eidr_id is not None:
        checked = parse_eidr(eidr_id)
        if checked.canonical is None:
            raise StoreError(f"not a valid EIDR content ID {eidr_id!r}: {checked.reason}")
        canonical = checked.canonical
    ensure_tables(conn)
    now = now or datetime.now(UTC)
    override = Override(asset_key, canonical, decided_by.strip(), now, reason.strip())
    with conn, conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute("select pg_advisory_xact_lock(hashtextextended(%s, 5240))", (asset_key,))
        cur.execute(
            "update eidr.overrides set superseded_at = %s where asset_key = %s and superseded_at is null",
            (now, asset_key),
        )
        cur.execute(
            "insert into eidr.overrides (asset_key, eidr_id, decided_by, decided_at, reason)"
            " values (%s, %s, %s, %s, %s)",
            (asset_key, canonical, override.decided_by, now, override.reason),
        )
        cur.execute("select * from eidr.match_results where asset_key = %s", (asset_key,))
        base = cur.fetchone() or {}
        _upsert_results(cur, [_override_row(override, base, str(base.get("run_id") or "override"), now)])
    return override


def review_queue(conn: Connection, limit: int = 50, provider_id: str | None = None) -> list[dict[str, Any]]:
    """Assets in the review band without an active override, oldest first, each with its ranked candidates."""
    from ingest.load import warehouse
    from ingest.parse.formats import get_format

    ensure_tables(conn)
    warehouse.ensure_tables(conn, get_format("eidr_registry"))
    query = """
        select r.asset_key, r.provider_id, r.score, r.reason, r.provided_eidr_id, r.decided_at,
               coalesce(json_agg(json_build_object(
                   'rank', c.rank, 'eidr_id', c.eidr_id, 'score', c.score, 'field_scores', c.field_scores,
                   'resource_name', g.resource_name, 'release_year', g.release_year
               ) order by c.rank) filter (where c.rank is not null), '[]') as candidates
        from eidr.match_results r
        left join eidr.match_candidates c on c.asset_key = r.asset_key
        left join lateral (
            select resource_name, release_year from raw.eidr_registry e
            where e.eidr_id = c.eidr_id order by interval_end desc, loaded_at desc limit 1
        ) g on true
        where r.band = 'review'
          and (%(provider)s::text is null or r.provider_id = %(provider)s)
          and not exists (select 1 from eidr.overrides o where o.asset_key = r.asset_key and o.superseded_at is null)
        group by r.asset_key, r.provider_id, r.score, r.reason, r.provided_eidr_id, r.decided_at
        order by r.decided_at, r.asset_key
        limit %(limit)s
    """
    with conn.cursor(cursor_factory=RealDictCursor) as cur:
        cur.execute(query, {"provider": provider_id, "limit": limit})
        rows = [dict(r) for r in cur.fetchall()]
    conn.rollback()
    return rows


def render_queue(rows: Sequence[Mapping[str, Any]]) -> Iterator[str]:
    """Human-readable review queue lines: the asset, why it is in review, and its candidates."""
    if not rows:
        yield "review queue is empty"
        return
    for row in rows:
        score = f"{row['score']:.3f}" if row["score"] is not None else "-"
        yield f"{row['asset_key']} [{row['provider_id'] or '-'}] score {score}: {row['reason'] or ''}"
        for c in row["candidates"]:
            yield (
                f"   #{c['rank']} {c['eidr_id']} {c['score']:.3f} {c.get('resource_name') or '?'}"
                f" ({c.get('release_year') or '?'}) {json.dumps(c['field_scores'], sort_keys=True)}"
            )
