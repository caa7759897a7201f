"""Publish audited marts into the reporting schema: the delta of each, merged by key in one transaction."""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from typing import Any, TypedDict

import psycopg2
from psycopg2 import sql

from media_platform.audit import delta as deltas
from media_platform.audit.delta import Delta, libpq_url
from media_platform.config.constants import AUDIT_SCHEMA, REPORTING_SCHEMA

__all__ = ["PublishError", "TableCounts", "libpq_url", "publish_tables"]

log = logging.getLogger(__name__)

# Types without an equality operator: their values are compared as text to tell a changed row.
_COMPARED_AS_TEXT = frozenset({"json", "xml"})
# The mart of one row per ingest batch; publish adds the end of its reconciliation to the reporting table.
DELIVERIES_TABLE = "provider_deliveries"
RECONCILIATION_COLUMNS = ("records_published", "records_quarantined_at_audit", "records_superseded")
# Publishers take this transaction-level advisory lock, so two never merge (or move watermarks) at once.
_PUBLISH_LOCK = 7_313_001


class PublishError(RuntimeError):
    """A reporting table cannot take its audit table's rows as they are; the message names the table and columns."""


class TableCounts(TypedDict):
    """What one publish did to one reporting table: rows written new, rewritten, removed, left alone (in the delta
    but equal to their published version), and held back because they are quarantined."""

    inserted: int
    updated: int
    deleted: int
    unchanged: int
    quarantined: int


def publish_tables(
    warehouse_url: str,
    tables: Sequence[str],
    keys: Mapping[str, Sequence[str]],
    source_schema: str = AUDIT_SCHEMA,
    target_schema: str = REPORTING_SCHEMA,
    lock_timeout_seconds: float = 60.0,
    audited: Mapping[str, Mapping[str, Any]] | None = None,
    reference_providers: Collection[str] = (),
) -> dict[str, TableCounts]:
    """Merge each `source_schema.<table>`'s delta into `target_schema.<table>` by its key columns, in ONE transaction.

    The delta of a table with `changed_at` is its rows changed since the table's watermark (what the last publish
    reached, kept in `<source_schema>.publish_watermarks` and moved in the same transaction), up to what the audit
    validated (`audited`: the audit's deltas by table; the audit and the watermark must agree) or, without it, to
    its newest row. Tombstones (`is_removed`) delete their key; `is_removed` is never published. A table without
    `changed_at` falls back to the full keyed diff (rows gone from audit are deleted). Either way rows with an
    open entry in `<source_schema>.quarantine` are held back (reporting keeps their published version), rows equal
    to their published version are not written, and the cost is the changed rows.

    The reporting table is created once (like its audit table, with a primary key on the key); the table, its
    indexes and its grants stay in place. Readers are never blocked (row-level locks only) and see all old rows
    until the commit, all new ones after; any error rolls everything back, watermarks included. A column new in
    audit is added to reporting in the same transaction; a column audit no longer has, or has with another type,
    raises PublishError. lock_timeout_seconds bounds waits for locks (an added column needs a brief exclusive one).
    When `provider_deliveries` is published, its reporting rows get the end of the reconciliation for every batch
    this publish touched: records published, quarantined at audit and superseded (loaded - the other two), except
    for reference_providers (whose records are not published as such); a negative superseded count fails it.
    """
    if not tables or len(set(tables)) != len(tables):
        raise ValueError(f"expected distinct table names, got {list(tables)!r}")
    keyless = [table for table in tables if not keys.get(table)]
    if keyless:
        raise ValueError(f"no publish key for {keyless}")
    counts: dict[str, TableCounts] = {}
    planned: dict[str, Delta] = {}
    conn = psycopg2.connect(libpq_url(warehouse_url))
    try:
        with conn.cursor() as cur:
            cur.execute("select set_config('lock_timeout', %s, true)", (f"{int(lock_timeout_seconds * 1000)}ms",))
            cur.execute("select pg_advisory_xact_lock(%s)", (_PUBLISH_LOCK,))
            cur.execute("select to_regnamespace(%s) is null", (target_schema,))
            if cur.fetchone()[0]:  # the roles migration creates it; `if not exists` needs the right to create
                cur.execute(sql.SQL("create schema {}").format(sql.Identifier(target_schema)))
            deltas.ensure_control_tables(cur, source_schema)
            touched: set[str] | None = set()
            for table in tables:
                key = tuple(keys[table])
                planned[table] = _delta(cur, source_schema, target_schema, table, (audited or {}).get(table))
                counts[table], batches = _merge_table(cur, source_schema, target_schema, table, key, planned[table])
                touched = None if touched is None or batches is None else touched | batches
                if planned[table].until is not None:
                    _move_watermark(cur, source_schema, target_schema, table, planned[table])
            if DELIVERIES_TABLE in tables:
                _reconcile(cur, source_schema, target_schema, tables, keys, touched, reference_providers)
        conn.commit()
    finally:
        conn.close()  # before a commit this rolls back, also when the server ended the session
    for table, done in counts.items():
        log.info(
            "published %s.%s to %s.%s (%s): %d inserted, %d updated, %d deleted, %d unchanged, %d quarantined",
            source_schema, table, target_schema, table, planned[table].describe(),
            done["inserted"], done["updated"], done["deleted"], done["unchanged"], done["quarantined"],
        )  # fmt: skip
    if all(delta.empty for delta in planned.values()):
        log.info(
            "publish: nothing changed in %s since the last publish; %s left as it was", source_schema, target_schema
        )
    return counts


def _delta(
    cur: psycopg2.extensions.cursor,
    source_schema: str,
    target_schema: str,
    table: str,
    audited: Mapping[str, Any] | None,
) -> Delta:
    """The delta to publish: the one the audit validated (checked against the watermark), else planned now."""
    columns = _columns(cur, sql.Identifier(source_schema, table))
    if audited is None:
        return deltas.plan_delta(cur, source_schema, target_schema, table, columns)
    delta = Delta.from_json(audited)
    if delta.full != (deltas.CHANGED_AT not in columns):
        raise PublishError(
            f"{source_schema}.{table} changed shape since its audit ({delta.describe()}): audit it again"
        )
    if not delta.full:
        reached = deltas.published_through(cur, source_schema, target_schema, table)
        if reached != delta.since:
            raise PublishError(
                f"{source_schema}.{table} was audited from {delta.since} but {target_schema}.{table} was published"
                f" through {reached}: audit it again"
            )
    return delta


def _move_watermark(
    cur: psycopg2.extensions.cursor, source_schema: str, target_schema: str, table: str, delta: Delta
) -> None:
    cur.execute(
        sql.SQL(
            "insert into {} (target_schema, table_name, published_through, published_at) values (%s, %s, %s, now())"
            " on conflict (target_schema, table_name)"
            " do update set published_through = excluded.published_through, published_at = excluded.published_at"
        ).format(sql.Identifier(source_schema, deltas.WATERMARKS_TABLE)),
        (target_schema, table, delta.until),
    )


def _merge_table(
    cur: psycopg2.extensions.cursor,
    source_schema: str,
    target_schema: str,
    table: str,
    key: tuple[str, ...],
    delta: Delta,
) -> tuple[TableCounts, set[str] | None]:
    """Merge one table's delta; returns its counts and the batch ids whose rows it changed (None: possibly all)."""
    source = sql.Identifier(source_schema, table)
    target = sql.Identifier(target_schema, table)
    source_columns = _columns(cur, source)
    if missing_key := [column for column in key if column not in source_columns]:
        raise PublishError(f"{source_schema}.{table} has no key column(s) {missing_key}")
    published = {column: kind for column, kind in source_columns.items() if column != deltas.IS_REMOVED}
    cur.execute("select to_regclass(%s)", (target.as_string(cur),))
    if cur.fetchone()[0] is None:
        cur.execute(sql.SQL("create table {} (like {} including all)").format(target, source))
        if deltas.IS_REMOVED in source_columns:
            cur.execute(sql.SQL("alter table {} drop column {}").format(target, sql.Identifier(deltas.IS_REMOVED)))
    owned = RECONCILIATION_COLUMNS if table == DELIVERIES_TABLE else ()
    _match_columns(cur, target, f"{target_schema}.{table}", published, owned)
    _ensure_key(cur, target, f"{target_schema}.{table}", key)
    if delta.empty:
        return TableCounts(inserted=0, updated=0, deleted=0, unchanged=0, quarantined=0), set()

    columns = list(published)
    values = [column for column in columns if column not in key]
    on_key = sql.SQL(" and ").join(
        sql.SQL("{} = {}").format(sql.Identifier("s", column), sql.Identifier("t", column)) for column in key
    )
    in_delta = deltas.delta_condition(delta, "s")
    removed = (
        sql.SQL("s.{}").format(sql.Identifier(deltas.IS_REMOVED))
        if deltas.IS_REMOVED in source_columns
        else sql.SQL("false")
    )
    held = deltas.not_quarantined(source_schema, table, key, "s")
    with_batch = "batch_id" in published
    touched: set[str] | None = None
    if with_batch and not delta.full:
        cur.execute(
            sql.SQL(
                "select s.batch_id from {source} as s where {in_delta}"
                " union select t.batch_id from {target} as t join {source} as s on {on_key} where {in_delta}"
            ).format(source=source, target=target, on_key=on_key, in_delta=in_delta)
        )
        touched = {batch for (batch,) in cur.fetchall() if batch is not None}
    elif not with_batch:
        touched = set()

    if delta.full:
        cur.execute(
            sql.SQL("delete from {} as t where not exists (select from {} as s where {} and not {})").format(
                target, source, on_key, removed
            )
        )
    else:
        cur.execute(
            sql.SQL("delete from {} as t using {} as s where {} and {} and {}").format(
                target, source, on_key, in_delta, removed
            )
        )
    deleted = cur.rowcount
    if values:
        same = sql.SQL("({}) is not distinct from ({})").format(
            sql.SQL(", ").join(_comparable("t", column, published[column]) for column in values),
            sql.SQL(", ").join(_comparable("s", column, published[column]) for column in values),
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
            with live as (
                select {columns}, {held} as publishable from {source} as s where {in_delta} and not {removed}
            ),
            merged as (
                insert into {target} ({columns})
                select {columns} from live as s
                where s.publishable and not exists (select from {target} as t where {on_key} and {same})
                on conflict ({key}) {on_conflict}
                returning xmax = 0 as inserted
            )
            select
                count(*) filter (where inserted),
                count(*) filter (where not inserted),
                (select count(*) from live),
                (select count(*) from live where not publishable)
            from merged
            """
        ).format(
            target=target,
            source=source,
            columns=sql.SQL(", ").join(sql.Identifier(column) for column in columns),
            held=held,
            in_delta=in_delta,
            removed=removed,
            on_key=on_key,
            same=same,
            key=sql.SQL(", ").join(sql.Identifier(column) for column in key),
            on_conflict=on_conflict,
        )
    )
    inserted, updated, total, quarantined = cur.fetchone()
    counts = TableCounts(
        inserted=inserted,
        updated=updated,
        deleted=deleted,
        unchanged=total - inserted - updated - quarantined,
        quarantined=quarantined,
    )
    return counts, touched


def _reconcile(
    cur: psycopg2.extensions.cursor,
    source_schema: str,
    target_schema: str,
    tables: Sequence[str],
    keys: Mapping[str, Sequence[str]],
    touched: set[str] | None,
    reference_providers: Collection[str],
) -> None:
    """Per batch, loaded = published + quarantined at audit + superseded, in reporting.provider_deliveries.

    A batch's records quarantined at audit are its records with an open quarantine entry, those published the
    reporting rows (of every published table with a batch_id) carrying its id but for those quarantined keys
    (reporting keeps their previous version, which may carry the same id when an interval is re-run), superseded
    the rest of what it loaded (records replaced by a later version or by another record of the same key).
    Only batches whose rows this publish changed, and those never reconciled, are counted (through an
    index on batch_id that publish adds to each reporting table), so the cost follows the delta.
    """
    deliveries = sql.Identifier(target_schema, DELIVERIES_TABLE)
    present = _columns(cur, deliveries)
    if "batch_id" not in present or "records_loaded" not in present:
        return
    published_terms: list[sql.Composable] = []
    quarantined_terms: list[sql.Composable] = []
    for table in tables:
        target = sql.Identifier(target_schema, table)
        if table == DELIVERIES_TABLE or "batch_id" not in _columns(cur, target):
            continue
        cur.execute(
            sql.SQL("create index if not exists {} on {} (batch_id)").format(
                sql.Identifier(f"{table}_batch_id_idx"[:63]), target
            )
        )
        quarantine, name = sql.Identifier(source_schema, deltas.QUARANTINE_TABLE), sql.Literal(table)
        open_entry = sql.SQL("q.is_open and q.table_name = {} and q.batch_id = d.batch_id").format(name)
        published_terms.append(
            sql.SQL(
                "(select count(*) from {t} as t where t.batch_id = d.batch_id"
                " and not exists (select from {q} as q where {open_entry} and q.record_key = {key}))"
            ).format(t=target, q=quarantine, open_entry=open_entry, key=deltas.key_json(tuple(keys[table]), "t"))
        )
        quarantined_terms.append(
            sql.SQL("(select count(distinct q.record_key) from {} as q where {})").format(quarantine, open_entry)
        )
    if not published_terms:
        return
    added = [column for column in RECONCILIATION_COLUMNS if column not in present]
    if added:
        cur.execute(
            sql.SQL("alter table {} {}").format(
                deliveries,
                sql.SQL(", ").join(sql.SQL("add column {} bigint").format(sql.Identifier(column)) for column in added),
            )
        )
    which = (
        sql.SQL("true")
        if touched is None
        else sql.SQL("(d.batch_id = any(%(touched)s) or d.records_published is null)")
    )
    cur.execute(
        sql.SQL(
            """
            with counted as (
                select d.batch_id, {published} as published, {quarantined} as quarantined
                from {deliveries} as d
                where {which} and d.provider_id <> all(%(reference)s)
            )
            update {deliveries} as d
            set records_published = c.published,
                records_quarantined_at_audit = c.quarantined,
                records_superseded = d.records_loaded - c.published - c.quarantined
            from counted as c
            where d.batch_id = c.batch_id
            returning d.batch_id, d.records_loaded, c.published, c.quarantined
            """
        ).format(
            published=sql.SQL(" + ").join(published_terms),
            quarantined=sql.SQL(" + ").join(quarantined_terms),
            deliveries=deliveries,
            which=which,
        ),
        {"touched": sorted(touched or ()), "reference": list(reference_providers)},
    )
    broken = [row for row in cur.fetchall() if row[1] is not None and row[2] + row[3] > row[1]]
    if broken:
        lines = ", ".join(f"{batch}: {p} published + {q} quarantined > {n} loaded" for batch, n, p, q in broken[:5])
        raise PublishError(f"broken reconciliation in {target_schema}.{DELIVERIES_TABLE}: {lines}")


def _columns(cur: psycopg2.extensions.cursor, relation: sql.Identifier) -> dict[str, str]:
    """A table's columns in order, with their types; UndefinedTable when it does not exist."""
    cur.execute(
        "select attname, format_type(atttypid, atttypmod) from pg_attribute"
        " where attrelid = %s::regclass and attnum > 0 and not attisdropped order by attnum",
        (relation.as_string(cur),),
    )
    return dict(cur.fetchall())


def _match_columns(
    cur: psycopg2.extensions.cursor,
    target: sql.Identifier,
    name: str,
    source_columns: Mapping[str, str],
    owned: Collection[str] = (),
) -> None:
    """Add the columns new in audit to the reporting table; refuse columns audit dropped or retyped (except the
    `owned` ones publish adds itself)."""
    target_columns = _columns(cur, target)
    if dropped := [column for column in target_columns if column not in source_columns and column not in owned]:
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
