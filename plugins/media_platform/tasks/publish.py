"""Publish audited mart tables into the reporting schema as a keyed merge in one transaction: all old or all new."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TypedDict
from urllib.parse import urlsplit, urlunsplit

import psycopg2
from psycopg2 import sql

from media_platform.config.constants import AUDIT_SCHEMA, REPORTING_SCHEMA

log = logging.getLogger(__name__)

# Types without an equality operator: their values are compared as text to tell a changed row.
_COMPARED_AS_TEXT = frozenset({"json", "xml"})


class PublishError(RuntimeError):
    """A reporting table cannot take its audit table's rows as they are; the message names the table and columns."""


class TableCounts(TypedDict):
    """What one publish did to one reporting table: rows written new, rewritten, removed, and left alone."""

    inserted: int
    updated: int
    deleted: int
    unchanged: int


def libpq_url(warehouse_url: str) -> str:
    """The warehouse URL as psycopg2 wants it: `postgresql+psycopg2://` and `postgres://` become `postgresql://`."""
    parts = urlsplit(warehouse_url)
    if parts.scheme.split("+", 1)[0] not in ("postgresql", "postgres"):
        raise ValueError(f"expected a postgresql:// URL, got scheme {parts.scheme!r}")
    return urlunsplit(("postgresql", *parts[1:]))


def publish_tables(
    warehouse_url: str,
    tables: Sequence[str],
    keys: Mapping[str, Sequence[str]],
    source_schema: str = AUDIT_SCHEMA,
    target_schema: str = REPORTING_SCHEMA,
    lock_timeout_seconds: float = 60.0,
) -> dict[str, TableCounts]:
    """Merge each `source_schema.<table>` into `target_schema.<table>` by its key columns, all in ONE transaction.

    A reporting table is created once (like its audit table, with a primary key on the key); after that only rows
    whose key is new or whose values differ are written (`insert ... on conflict (key) do update`) and rows whose
    key left audit are deleted. Unchanged rows are neither rewritten nor locked, and the table itself, its indexes
    and its grants stay in place. Readers are never blocked (row-level locks only) and see all old rows until the
    commit, all new ones after; any error rolls everything back. A column new in audit is added to reporting in
    the same transaction; a column audit no longer has, or has with another type, raises PublishError.
    lock_timeout_seconds bounds waits for locks (an added column needs a brief exclusive one), so a long reader
    makes such a publish fail (and be retried) instead of queueing every later reader behind it.
    """
    if not tables or len(set(tables)) != len(tables):
        raise ValueError(f"expected distinct table names, got {list(tables)!r}")
    keyless = [table for table in tables if not keys.get(table)]
    if keyless:
        raise ValueError(f"no publish key for {keyless}")
    counts: dict[str, TableCounts] = {}
    conn = psycopg2.connect(libpq_url(warehouse_url))
    try:
        with conn.cursor() as cur:
            cur.execute("select set_config('lock_timeout', %s, true)", (f"{int(lock_timeout_seconds * 1000)}ms",))
            cur.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(target_schema)))
            for table in tables:
                counts[table] = _merge_table(cur, source_schema, target_schema, table, tuple(keys[table]))
        conn.commit()
    finally:
        conn.close()  # before a commit this rolls back, also when the server ended the session
    for table, done in counts.items():
        log.info(
            "published %s.%s to %s.%s: %d inserted, %d updated, %d deleted, %d unchanged",
            source_schema, table, target_schema, table,
            done["inserted"], done["updated"], done["deleted"], done["unchanged"],
        )  # fmt: skip
    return counts


def _merge_table(
    cur: psycopg2.extensions.cursor, source_schema: str, target_schema: str, table: str, key: tuple[str, ...]
) -> TableCounts:
    source = sql.Identifier(source_schema, table)
    target = sql.Identifier(target_schema, table)
    source_columns = _columns(cur, source)
    if missing_key := [column for column in key if column not in source_columns]:
        raise PublishError(f"{source_schema}.{table} has no key column(s) {missing_key}")
    cur.execute("select to_regclass(%s)", (target.as_string(cur),))
    if cur.fetchone()[0] is None:
        cur.execute(sql.SQL("create table {} (like {} including all)").format(target, source))
    _match_columns(cur, target, f"{target_schema}.{table}", source_columns)
    _ensure_key(cur, target, f"{target_schema}.{table}", key)

    columns = list(source_columns)
    values = [column for column in columns if column not in key]
    on_key = sql.SQL(" and ").join(
        sql.SQL("{} = {}").format(sql.Identifier("s", column), sql.Identifier("t", column)) for column in key
    )
    cur.execute(
        sql.SQL("delete from {} as t where not exists (select from {} as s where {})").format(target, source, on_key)
    )
    deleted = cur.rowcount
    if values:
        same = sql.SQL("({}) is not distinct from ({})").format(
            sql.SQL(", ").join(_comparable("t", column, source_columns[column]) for column in values),
            sql.SQL(", ").join(_comparable("s", column, source_columns[column]) for column in values),
        )
        on_conflict = sql.SQL("do update set {}").format(
            sql.SQL(", ").join(
                sql.SQL("{} = excluded.{}").format(sql.Identifier(column), sql.Identifier(column)) for column in values
            )
        )
    else:
        same, on_conflict = sql.SQL("true"), sql.SQL("do nothing")
    # Rows equal to their reporting version are filtered out before the insert, so they never reach the conflict
    # path (which would lock, and so write, them). xmax is 0 exactly on the rows the insert created.
    cur.execute(
        sql.SQL(
            """
            with merged as (
                insert into {target} ({columns})
                select {columns} from {source} as s
                where not exists (select from {target} as t where {on_key} and {same})
                on conflict ({key}) {on_conflict}
                returning xmax = 0 as inserted
            )
            select
                count(*) filter (where inserted),
                count(*) filter (where not inserted),
                (select count(*) from {source})
            from merged
            """
        ).format(
            target=target,
            source=source,
            columns=sql.SQL(", ").join(sql.Identifier(column) for column in columns),
            on_key=on_key,
            same=same,
            key=sql.SQL(", ").join(sql.Identifier(column) for column in key),
            on_conflict=on_conflict,
        )
    )
    inserted, updated, total = cur.fetchone()
    return TableCounts(inserted=inserted, updated=updated, deleted=deleted, unchanged=total - inserted - updated)


def _columns(cur: psycopg2.extensions.cursor, relation: sql.Identifier) -> dict[str, str]:
    """A table's columns in order, with their types; UndefinedTable when it does not exist."""
    cur.execute(
        "select attname, format_type(atttypid, atttypmod) from pg_attribute"
        " where attrelid = %s::regclass and attnum > 0 and not attisdropped order by attnum",
        (relation.as_string(cur),),
    )
    return dict(cur.fetchall())


def _match_columns(
    cur: psycopg2.extensions.cursor, target: sql.Identifier, name: str, source_columns: Mapping[str, str]
) -> None:
    """Add the columns new in audit to the reporting table; refuse columns audit dropped or retyped."""
    target_columns = _columns(cur, target)
    if dropped := [column for column in target_columns if column not in source_columns]:
        raise PublishError(
            f"{name} has columns its audit table no longer has: {dropped}; drop them from {name}"
            " (readers may depend on them) or bring them back in the mart, then publish again"
        )
    retyped = {
        column: (target_columns[column], kind)
        for column, kind in source_columns.items()
        if column in target_columns and target_columns[column] != kind
    }
    if retyped:
        changes = ", ".join(f"{column} {old} -> {new}" for column, (old, new) in retyped.items())
        raise PublishError(f"{name} has columns of another type in its audit table: {changes}; alter {name} first")
    added = [column for column in source_columns if column not in target_columns]
    if added:
        cur.execute(
            sql.SQL("alter table {} {}").format(
                target,
                sql.SQL(", ").join(
                    sql.SQL("add column {} {}").format(sql.Identifier(column), sql.SQL(source_columns[column]))
                    for column in added
                ),
            )
        )
        log.info("added columns %s to %s", added, name)


def _ensure_key(cur: psycopg2.extensions.cursor, target: sql.Identifier, name: str, key: tuple[str, ...]) -> None:
    """Give the reporting table a primary key on the publish key unless a unique index on exactly it exists."""
    cur.execute(
        """
        select i.indisprimary, array_agg(a.attname::text order by a.attnum), bool_and(a.attnotnull)
        from pg_index as i
        join pg_attribute as a on a.attrelid = i.indrelid and a.attnum = any(i.indkey::int2[])
        where i.indrelid = %s::regclass and i.indisunique and i.indpred is null and i.indexprs is null
        group by i.indexrelid, i.indisprimary
        """,
        (target.as_string(cur),),
    )
    indexes = cur.fetchall()
    if any(sorted(columns) == sorted(key) and not_null for _, columns, not_null in indexes):
        return
    if primary := [columns for is_primary, columns, _ in indexes if is_primary]:
        raise PublishError(f"{name} has a primary key on {primary[0]}, not on its publish key {list(key)}")
    cur.execute(
        sql.SQL("alter table {} add primary key ({})").format(
            target, sql.SQL(", ").join(sql.Identifier(column) for column in key)
        )
    )
    log.info("added primary key %s to %s", list(key), name)


def _comparable(alias: str, column: str, kind: str) -> sql.Composable:
    value = sql.Identifier(alias, column)
    return sql.SQL("{}::text").format(value) if kind in _COMPARED_AS_TEXT else value
