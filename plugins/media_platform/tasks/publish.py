"""Publish audited mart tables into the reporting schema in one transaction: readers see all old or all new."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from urllib.parse import urlsplit, urlunsplit

import psycopg2
from psycopg2 import sql

from media_platform.config.constants import AUDIT_SCHEMA, REPORTING_SCHEMA

log = logging.getLogger(__name__)

STAGING_SUFFIX = "__publishing"


def libpq_url(warehouse_url: str) -> str:
    """The warehouse URL as psycopg2 wants it: `postgresql+psycopg2://` and `postgres://` become `postgresql://`."""
    parts = urlsplit(warehouse_url)
    if parts.scheme.split("+", 1)[0] not in ("postgresql", "postgres"):
        raise ValueError(f"expected a postgresql:// URL, got scheme {parts.scheme!r}")
    return urlunsplit(("postgresql", *parts[1:]))


def publish_tables(
    warehouse_url: str,
    tables: Sequence[str],
    source_schema: str = AUDIT_SCHEMA,
    target_schema: str = REPORTING_SCHEMA,
    lock_timeout_seconds: float = 60.0,
) -> dict[str, int]:
    """Copy each `source_schema.<table>` over `target_schema.<table>` in ONE transaction; rows published per table.

    Each table is copied into `<table>__publishing` (same columns, defaults, constraints and indexes),
    the old table is dropped and the copy renamed. Nothing is visible to other sessions until the
    commit, and any error rolls everything back, so the target keeps its previous complete state.
    lock_timeout_seconds bounds the wait for readers of the old tables, so a long query makes the
    publish fail (and be retried) instead of queueing every later reader behind it.
    """
    if not tables or len(set(tables)) != len(tables):
        raise ValueError(f"expected distinct table names, got {list(tables)!r}")
    published: dict[str, int] = {}
    conn = psycopg2.connect(libpq_url(warehouse_url))
    try:
        with conn, conn.cursor() as cur:
            cur.execute("select set_config('lock_timeout', %s, true)", (f"{int(lock_timeout_seconds * 1000)}ms",))
            cur.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(target_schema)))
            for table in tables:
                source = sql.Identifier(source_schema, table)
                target = sql.Identifier(target_schema, table)
                staging = sql.Identifier(target_schema, table + STAGING_SUFFIX)
                cur.execute(sql.SQL("drop table if exists {}").format(staging))
                cur.execute(sql.SQL("create table {} (like {} including all)").format(staging, source))
                cur.execute(sql.SQL("insert into {} select * from {}").format(staging, source))
                published[table] = cur.rowcount
                cur.execute(sql.SQL("drop table if exists {}").format(target))
                cur.execute(sql.SQL("alter table {} rename to {}").format(staging, sql.Identifier(table)))
    finally:
        conn.close()
    log.info("published %s from %s to %s", published, source_schema, target_schema)
    return published
