"""What the audit tests share: good `titles` and `provider_deliveries` rows, and helpers to change and inspect them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg2

from media_platform.audit.gx_checkpoint import AuditResult, run_audit

TABLES = ["titles", "provider_deliveries"]
KEYS = {"titles": ["asset_key"], "provider_deliveries": ["batch_id"]}
# The delta contract's columns and indexes, as the dbt marts add them (issue #9).
CONTRACT_DDL = """
alter table {schema}.{table}
    add column changed_at timestamptz not null default '2024-01-01T06:00:00Z',
    add column is_removed boolean not null default false;
create unique index on {schema}.{table} ({key});
create index on {schema}.{table} (changed_at);
"""

TITLES_DDL = """
create table {schema}.titles (
    asset_key text, provider_id text, provider_asset_id text, title text, asset_type text,
    series_title text, season_number int, episode_number int, release_year int, runtime_minutes int,
    genres text, eidr_id text, eidr_id_provided text, eidr_status text, eidr_invalid_reason text,
    licensing_window_start timestamptz, licensing_window_end timestamptz, version_major int, version_minor int,
    is_deleted boolean, source_file text, batch_id text, first_seen_at timestamptz, updated_at timestamptz
)
"""
DELIVERIES_DDL = """
create table {schema}.provider_deliveries (
    batch_id text, provider_id text, interval_start timestamptz, interval_end timestamptz, files_read int,
    records_read int, records_loaded int, records_quarantined int, bytes_read bigint,
    started_at timestamptz, finished_at timestamptz
)
"""
EIDR = "10.5240/1A2B-3C4D-5E6F-7A8B-9C0D-E"


def title_row(asset_id: str, **overrides: Any) -> dict[str, Any]:
    row = {
        "asset_key": f"acme:{asset_id}",
        "provider_id": "acme",
        "provider_asset_id": asset_id,
        "title": f"Title {asset_id}",
        "asset_type": "movie",
        "release_year": 2001,
        "runtime_minutes": 95,
        "genres": "drama",
        "eidr_id": EIDR,
        "eidr_id_provided": EIDR,
        "eidr_status": "valid",
        "licensing_window_start": "2024-01-01T00:00:00Z",
        "licensing_window_end": "2024-12-31T00:00:00Z",
        "version_major": 1,
        "version_minor": 0,
        "is_deleted": False,
        "source_file": "acme/2024-01-01/catalog.xml",
        "batch_id": "acme-20240101",
        "first_seen_at": "2024-01-01T06:00:00Z",
        "updated_at": "2024-01-01T06:00:00Z",
    }
    return {**row, **overrides}


GOOD_TITLES = [
    title_row("m1"),
    title_row(
        "e1",
        asset_type="episode",
        series_title="Show",
        season_number=1,
        episode_number=2,
        runtime_minutes=42,
        eidr_id=None,
        eidr_id_provided=None,
        eidr_status="missing",
        licensing_window_end=None,
    ),
    title_row(
        "m2",
        eidr_id=None,
        eidr_id_provided="10.5240/bad",
        eidr_status="invalid",
        eidr_invalid_reason="bad check character",
        runtime_minutes=None,
    ),
]
GOOD_DELIVERIES = [
    {
        "batch_id": "acme-20240101",
        "provider_id": "acme",
        "records_read": 3,
        "records_loaded": 3,
        "records_quarantined": 0,
    },
    {
        "batch_id": "acme-20240102",
        "provider_id": "acme",
        "records_read": 5,
        "records_loaded": 4,
        "records_quarantined": 1,
    },
]


def insert(conn: psycopg2.extensions.connection, table: str, rows: list[dict[str, Any]]) -> None:
    with conn.cursor() as cur:
        for row in rows:
            columns = ", ".join(row)
            placeholders = ", ".join(["%s"] * len(row))
            cur.execute(f"insert into {table} ({columns}) values ({placeholders})", list(row.values()))


def execute(conn: psycopg2.extensions.connection, statement: str) -> None:
    with conn.cursor() as cur:
        cur.execute(statement)


def validation_pages(result: AuditResult, suite: str) -> list[Path]:
    return sorted((result.data_docs_index.parent / "validations" / suite).rglob("*.html"))


def audit(dsn: str, schema: str, tables: list[str], gx_root: Path, **kwargs: Any) -> AuditResult:
    """run_audit of `schema` with the tests' keys, against a reporting schema of the test's own (`<schema>_rpt`)."""
    return run_audit(dsn, schema, tables, gx_root, KEYS, target_schema=f"{schema}_rpt", **kwargs)


def open_quarantine(conn: psycopg2.extensions.connection, schema: str) -> list[tuple]:
    """The open quarantine entries: table, key, provider, asset, batch, rule, reason; sorted."""
    with conn.cursor() as cur:
        cur.execute(
            f"select table_name, record_key, provider_id, asset_key, batch_id, rule, reason from {schema}.quarantine"
            " where is_open order by 1, 2::text, 6"
        )
        return cur.fetchall()
