"""Warehouse I/O: the eidr schema, incremental matching runs, overrides and the review queue."""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from psycopg2 import sql
from psycopg2.extensions import connection as Connection
from psycopg2.extras import RealDictCursor, execute_values

from eidr_matching.blocking import RegistryIndex
from eidr_matching.matcher import Matcher
from eidr_matching.models import Asset, Decision, RegistryRecord
from eidr_matching.parallel import DEFAULT_CHUNK_SIZE, match_chunks, resolve_workers
from eidr_matching.registry import EmptyRegistryError, record_from_columns
from eidr_matching.scoring import Band, MatchConfig, Method

DEFAULT_ASSETS_RELATION = "intermediate.int_titles_for_matching"
_LOCK_KEY = 5_240_001  # one matching run at a time
log = logging.getLogger(__name__)

DDL = """
-- `create schema if not exists` needs the right to create schemas, which the warehouse roles lack
do $$ begin if to_regnamespace('eidr') is null then create schema eidr; end if; end $$;

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

create table if not exists eidr.match_inputs (
    asset_key text primary key,
    input_hash text not null,
    asset_updated_at timestamptz,
    checked_at timestamptz not null,
    run_id text not null
);

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
alter table eidr.match_runs add column if not exists results_changed int;
alter table eidr.match_runs add column if not exists candidates_changed int;
alter table eidr.match_runs add column if not exists workers int;
"""
RESULT_COLUMNS = (
    "asset_key", "provider_id", "eidr_id", "method", "band", "score", "reason", "provided_eidr_id",
    "top_candidate_eidr_id", "decided_at", "asset_updated_at", "run_id",
)  # fmt: skip
# What the matcher reads of an asset: a change in any of them (or in the matcher) re-matches it.
MATCH_INPUT_COLUMNS = (
    "provider_id", "title", "alternate_titles", "release_year", "runtime_minutes", "directors", "country",
    "series_title", "season_number", "episode_number", "eidr_id", "eidr_status",
)  # fmt: skip
_MATCHER_CODE = ("matcher.py", "scoring.py", "normalize.py", "blocking.py", "models.py")


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
    results_changed: int = 0
    candidates_changed: int = 0
    workers: int = 1
    index_from_cache: bool = False
    index_seconds: float = 0.0

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
    records = list(iter_registry(conn))
    conn.rollback()
    return records


def iter_registry(conn: Connection) -> Iterator[RegistryRecord]:
    """load_registry's records one by one, read with a server-side cursor inside the caller's transaction."""
    query = """
        select distinct on (eidr_id)
            eidr_id, resource_name, alternate_names, referent_type, structural_type, release_year,
            approximate_length_minutes, country_of_origin, directors, parent_eidr_id, season_number, episode_number,
            registry_status
        from raw.eidr_registry
        order by eidr_id, interval_end desc, loaded_at desc
    """
    with conn.cursor(name=f"registry_{uuid.uuid4().hex[:8]}", cursor_factory=RealDictCursor) as cur:
        cur.itersize = 20_000
        cur.execute(query)
        for row in cur:
            if (row["registry_status"] or "valid").lower() == "valid":
                yield record_from_columns(row)


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


def matcher_fingerprint(config: MatchConfig) -> str:
    """Identifies the matching code and settings; stored in every asset's input hash, so a change re-matches all."""
    here = Path(__file__).parent
    digest = hashlib.sha256(repr(config).encode())
    for name in _MATCHER_CODE:
        digest.update((here / name).read_bytes())
    return digest.hexdigest()[:16]


def source_columns(conn: Connection, source: sql.Composable) -> list[str]:
    """The column names of the asset source (some, such as alternate_titles, are optional)."""
    with conn.cursor() as cur:
        cur.execute(sql.SQL("select * from ({}) as s limit 0").format(source))
        return [column.name for column in cur.description]


def changed_assets_query(
    source: sql.Composable, columns: Sequence[str], full: bool, fingerprint: str
) -> sql.Composable:
    """New assets and those whose matching inputs changed since they were last matched (all with full).

    Each row carries `input_hash` (md5 over the columns the matcher reads, plus the matcher's fingerprint) and
    `source_rows`. Comparing hashes instead of `updated_at` means that reloading an interval with the same content
    (which moves updated_at, today the load time) re-matches nothing.
    """
    present = [c for c in MATCH_INPUT_COLUMNS if c in columns]
    inputs = sql.SQL(", ").join(sql.SQL("src.{}").format(sql.Identifier(c)) for c in present)
    return sql.SQL(
        """
        with src as ({source}),
        hashed as (select src.*, md5(row({inputs})::text || {fingerprint}) as input_hash from src)
        select hashed.*, (select count(*) from src) as source_rows
        from hashed
        left join eidr.match_inputs as seen on seen.asset_key = hashed.asset_key::text
        where {condition}
        """
    ).format(
        source=source,
        inputs=inputs,
        fingerprint=sql.Literal(fingerprint),
        condition=sql.SQL("true" if full else "seen.asset_key is null or seen.input_hash <> hashed.input_hash"),
    )


def active_overrides(conn: Connection, asset_keys: Sequence[str] | None = None) -> dict[str, Override]:
    """Active overrides (not superseded), by asset key; all of them, or those of the given assets."""
    with conn.cursor() as cur:
        found = _active_overrides(cur, asset_keys)
    conn.rollback()
    return found


def _active_overrides(cur: Any, asset_keys: Sequence[str] | None) -> dict[str, Override]:
    query = "select asset_key, eidr_id, decided_by, decided_at, reason from eidr.overrides where superseded_at is null"
    params: tuple = ()
    if asset_keys is not None:
        query += " and asset_key = any(%s)"
        params = (list(asset_keys),)
    cur.execute(query, params)
    return {row[0]: Override(*row) for row in cur.fetchall()}


def _override_row(override: Override, base: Mapping[str, Any], run_id: str, now: datetime) -> tuple:
    reason = f"override by {override.decided_by}: {override.reason}"
    return (
        override.asset_key, base.get("provider_id"), override.eidr_id, Method.OVERRIDE.value, Band.OVERRIDE.value,
        None, reason, base.get("provided_eidr_id"), base.get("top_candidate_eidr_id"), now,
        base.get("asset_updated_at"), run_id,
    )  # fmt: skip


# A result whose decision is the same (ID, method, band, score at its stored 4 decimals, top candidate, reason) keeps
# its decided_at (the marts carry the reason and read changed decisions by decided_at); a row whose content is the
# same is not written at all, so downstream increments see no change.
_SAME_DECISION = (
    "(r.eidr_id, r.method, r.band, round(r.score::numeric, 4), r.top_candidate_eidr_id, r.reason) is not distinct "
    "from (excluded.eidr_id, excluded.method, excluded.band, round(excluded.score::numeric, 4), "
    "excluded.top_candidate_eidr_id, excluded.reason)"
)
_MERGE_RESULTS = f"""
    insert into eidr.match_results as r ({", ".join(RESULT_COLUMNS)})
    select {", ".join(RESULT_COLUMNS)} from pg_temp.stage_results
    on conflict (asset_key) do update set
        provider_id = excluded.provider_id, eidr_id = excluded.eidr_id, method = excluded.method,
        band = excluded.band, score = excluded.score, reason = excluded.reason,
        provided_eidr_id = excluded.provided_eidr_id, top_candidate_eidr_id = excluded.top_candidate_eidr_id,
        decided_at = case when {_SAME_DECISION} then r.decided_at else excluded.decided_at end,
        asset_updated_at = case when {_SAME_DECISION} then r.asset_updated_at else excluded.asset_updated_at end,
        run_id = excluded.run_id
    where (r.provider_id, r.eidr_id, r.method, r.band, round(r.score::numeric, 4), r.reason, r.provided_eidr_id,
           r.top_candidate_eidr_id)
        is distinct from (excluded.provider_id, excluded.eidr_id, excluded.method, excluded.band,
           round(excluded.score::numeric, 4), excluded.reason, excluded.provided_eidr_id,
           excluded.top_candidate_eidr_id)
"""
_DROP_STALE_CANDIDATES = """
    delete from eidr.match_candidates as c using pg_temp.stage_inputs as a
    where c.asset_key = a.asset_key
      and not exists (select 1 from pg_temp.stage_candidates as s where s.asset_key = c.asset_key and s.rank = c.rank)
"""
_MERGE_CANDIDATES = """
    insert into eidr.match_candidates as c (asset_key, eidr_id, score, rank, field_scores, matched_at)
    select asset_key, eidr_id, score, rank, field_scores, matched_at from pg_temp.stage_candidates
    on conflict (asset_key, rank) do update set
        eidr_id = excluded.eidr_id, score = excluded.score, field_scores = excluded.field_scores,
        matched_at = excluded.matched_at
    where (c.eidr_id, c.score, c.field_scores)
        is distinct from (excluded.eidr_id, excluded.score, excluded.field_scores)
"""
_MERGE_INPUTS = """
    insert into eidr.match_inputs as i (asset_key, input_hash, asset_updated_at, checked_at, run_id)
    select asset_key, input_hash, asset_updated_at, checked_at, run_id from pg_temp.stage_inputs
    on conflict (asset_key) do update set
        input_hash = excluded.input_hash, asset_updated_at = excluded.asset_updated_at,
        checked_at = excluded.checked_at, run_id = excluded.run_id
    where (i.input_hash, i.asset_updated_at) is distinct from (excluded.input_hash, excluded.asset_updated_at)
"""
_CANDIDATE_COLUMNS = ("asset_key", "eidr_id", "score", "rank", "field_scores", "matched_at")
_INPUT_COLUMNS = ("asset_key", "input_hash", "asset_updated_at", "checked_at", "run_id")


class ChunkWriter:
    """Writes the decisions of one chunk after another inside the run's transaction: COPY into temporary staging
    tables, then one set-based merge per table that writes only what changed (see _SAME_DECISION)."""

    def __init__(self, conn: Connection, run_id: str, now: datetime):
        self.conn, self.run_id, self.now = conn, run_id, now
        self.bands: dict[str, int] = {}
        self.results_changed = self.candidates_changed = 0
        with conn.cursor() as cur:
            cur.execute(
                "create temp table if not exists stage_results (like eidr.match_results) on commit drop;"
                "create temp table if not exists stage_candidates (like eidr.match_candidates) on commit drop;"
                "create temp table if not exists stage_inputs (like eidr.match_inputs) on commit drop;"
            )

    def write(self, assets: Sequence[Asset], hashes: Sequence[str], decisions: Sequence[Decision]) -> None:
        """Stage and merge one chunk; active overrides win over the matcher."""
        from ingest.load.copy_csv import CopyStream

        run_id, now = self.run_id, self.now
        results, candidates, inputs = [], [], []
        with self.conn.cursor() as cur:
            overrides = _active_overrides(cur, [a.asset_key for a in assets])
            for asset, input_hash, decision in zip(assets, hashes, decisions, strict=True):
                provided = decision.provided_eidr_id or asset.eidr_id
                override = overrides.get(asset.asset_key)
                if override is not None:
                    base = {
                        "provider_id": asset.provider_id, "provided_eidr_id": provided,
                        "top_candidate_eidr_id": decision.top_candidate, "asset_updated_at": asset.updated_at,
                    }  # fmt: skip
                    row = _override_row(override, base, run_id, override.decided_at)
                else:
                    row = (
                        asset.asset_key, asset.provider_id, decision.eidr_id, str(decision.method),
                        str(decision.band), decision.score, decision.reason, provided, decision.top_candidate, now,
                        asset.updated_at, run_id,
                    )  # fmt: skip
                results.append(row)
                self.bands[row[4]] = self.bands.get(row[4], 0) + 1
                for rank, candidate in enumerate(decision.candidates, start=1):
                    field_scores = json.dumps(candidate.as_json())
                    candidates.append(
                        (asset.asset_key, candidate.eidr_id, round(candidate.score, 4), rank, field_scores, now)
                    )
                inputs.append((asset.asset_key, input_hash, asset.updated_at, now, run_id))
            cur.execute("truncate pg_temp.stage_results, pg_temp.stage_candidates, pg_temp.stage_inputs")
            for table, columns, rows in (
                ("stage_results", RESULT_COLUMNS, results),
                ("stage_candidates", _CANDIDATE_COLUMNS, candidates),
                ("stage_inputs", _INPUT_COLUMNS, inputs),
            ):
                cur.copy_expert(
                    f"copy pg_temp.{table} ({', '.join(columns)}) from stdin with (format csv)", CopyStream(rows)
                )
            cur.execute(_MERGE_RESULTS)
            self.results_changed += cur.rowcount
            cur.execute(_DROP_STALE_CANDIDATES)
            self.candidates_changed += cur.rowcount
            cur.execute(_MERGE_CANDIDATES)
            self.candidates_changed += cur.rowcount
            cur.execute(_MERGE_INPUTS)


def run_matching(
    conn: Connection,
    source: sql.Composable,
    config: MatchConfig | None = None,
    full: bool = False,
    workers: int | None = 1,
    now: datetime | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    index_cache_dir: Path | None = None,
    allow_empty_registry: bool = False,
) -> RunSummary:
    """One matching run over new or changed assets (all with full), in one transaction.

    An empty or absent registry mirror (no active record in raw.eidr_registry) raises EmptyRegistryError before
    anything is written, instead of rejecting every asset; `allow_empty_registry` (the pipeline before its first
    registry delivery) rejects them with that reason instead.

    Assets are streamed from a server-side cursor `chunk_size` at a time, matched by `workers` processes (None or 0:
    as many as the machine or pod grants) and written with COPY and a merge per chunk, so memory holds the registry
    index and a few chunks whatever the number of assets. The run commits once at the end: a run that fails or is
    killed leaves every table as it was, and running it again redoes all of it.
    """
    from ingest.load import warehouse
    from ingest.parse.formats import get_format

    if chunk_size < 1:
        raise StoreError(f"chunk size must be at least 1, got {chunk_size}")
    config = config or MatchConfig()
    workers = resolve_workers(workers)
    clock = time.monotonic()
    started = now or datetime.now(UTC)
    run_id = f"match-{started:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    ensure_tables(conn)
    warehouse.ensure_tables(conn, get_format("eidr_registry"))
    with conn.cursor() as cur:
        cur.execute("select pg_try_advisory_lock(%s)", (_LOCK_KEY,))
        if not cur.fetchone()[0]:
            raise StoreError("another matching run holds the lock; try again when it has finished")
    write_cache: Callable[[], None] | None = None
    try:
        summary, write_cache = _run_locked(
            conn, source, config, full, workers, started, run_id, chunk_size, index_cache_dir, allow_empty_registry
        )
        with conn.cursor() as cur:
            cur.execute(
                "insert into eidr.match_runs (run_id, started_at, finished_at, full_run, registry_records,"
                " assets_in_source, assets_matched, bands, results_changed, candidates_changed, workers)"
                " values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    run_id, started, datetime.now(UTC), full, summary.registry_records, summary.assets_in_source,
                    summary.assets_matched, json.dumps(summary.bands), summary.results_changed,
                    summary.candidates_changed, workers,
                ),
            )  # fmt: skip
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        with conn.cursor() as cur:
            cur.execute("select pg_advisory_unlock(%s)", (_LOCK_KEY,))
        conn.commit()
    if write_cache is not None:
        cache_clock = time.monotonic()
        write_cache()
        log.info("registry index cached in %.1f s", time.monotonic() - cache_clock)
    return replace(summary, seconds=round(time.monotonic() - clock, 3))


def _run_locked(
    conn: Connection,
    source: sql.Composable,
    config: MatchConfig,
    full: bool,
    workers: int,
    started: datetime,
    run_id: str,
    chunk_size: int,
    index_cache_dir: Path | None,
    allow_empty_registry: bool = False,
) -> tuple[RunSummary, Callable[[], None] | None]:
    from eidr_matching import index_cache

    query = changed_assets_query(source, source_columns(conn, source), full, matcher_fingerprint(config))
    cursor = conn.cursor(name=f"assets_{uuid.uuid4().hex[:8]}", cursor_factory=RealDictCursor)
    cursor.itersize = chunk_size
    cursor.execute(query)
    first = cursor.fetchmany(chunk_size)
    if not first:
        cursor.close()
        with conn.cursor() as cur:
            cur.execute(sql.SQL("select count(*) from ({}) as s").format(source))
            total = int(cur.fetchone()[0])
        return RunSummary(run_id, full, 0, total, 0, {}, 0.0, workers=workers), None
    total = int(first[0]["source_rows"])

    def build() -> tuple[RegistryIndex, int]:
        enabled = gc.isenabled()
        gc.disable()  # millions of acyclic objects: the collector's passes over them are pure cost
        try:
            records = list(iter_registry(conn))
            return RegistryIndex(records, config.match_structural_types), len(records)
        finally:
            if enabled:
                gc.enable()

    clock = time.monotonic()
    cached, write_cache = index_cache.load_or_build(conn, config, build, index_cache_dir)
    index_seconds = round(time.monotonic() - clock, 3)
    log.info(
        "registry index of %s records %s in %.1f s",
        cached.records,
        "built" if write_cache is not None or not cached.fingerprint else "loaded from the cache",
        index_seconds,
    )
    if not cached.records and not allow_empty_registry:
        raise EmptyRegistryError(
            "the registry mirror raw.eidr_registry has no active (status valid) records: every asset would be "
            f"rejected, so {total} assets were not matched; load an EIDR registry export first (provider "
            "eidr_registry), or check that its rows were not all quarantined"
        )
    matcher = Matcher(cached.index, config)
    writer = ChunkWriter(conn, run_id, started)
    in_flight: deque[list[str]] = deque()

    def chunks() -> Iterator[list[Asset]]:
        rows = first
        while rows:
            in_flight.append([row["input_hash"] for row in rows])
            yield [_asset(row) for row in rows]
            rows = cursor.fetchmany(chunk_size)

    matched = 0
    for assets, decisions in match_chunks(matcher, chunks(), workers):
        writer.write(assets, in_flight.popleft(), decisions)
        matched += len(assets)
    cursor.close()
    summary = RunSummary(
        run_id, full, cached.records, total, matched, writer.bands, 0.0, writer.results_changed,
        writer.candidates_changed, workers, bool(cached.fingerprint) and write_cache is None, index_seconds,
    )  # fmt: skip
    return summary, write_cache


def _upsert_results(cur: Any, rows: Sequence[tuple]) -> None:
    updates = ", ".join(f"{c} = excluded.{c}" for c in RESULT_COLUMNS[1:])
    execute_values(
        cur,
        f"insert into eidr.match_results ({', '.join(RESULT_COLUMNS)}) values %s "
        f"on conflict (asset_key) do update set {updates}",
        rows,
        page_size=5000,
    )


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
