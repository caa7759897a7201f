"""The audit gate's machinery: GX validates each mart's delta, quarantines bad records, blocks on table failures."""

from __future__ import annotations

import logging
import os
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import psycopg2
from psycopg2 import sql
from psycopg2.extras import Json, execute_values

from media_platform.audit import delta as deltas
from media_platform.audit.delta import Delta, libpq_url
from media_platform.audit.suites import SUITE_BUILDERS, is_record_level
from media_platform.config.constants import REPORTING_SCHEMA

if TYPE_CHECKING:
    from great_expectations.core import ExpectationValidationResult
    from great_expectations.data_context import FileDataContext

log = logging.getLogger(__name__)

DATASOURCE_NAME = "warehouse"
BATCH_DEFINITION_NAME = "delta"
DATA_DOCS_SITE = "local_site"
# Kept in GX's uncommitted/config_variables.yml so credentials never land in great_expectations.yml.
CONNECTION_VARIABLE = "media_warehouse_connection"
# Data docs keep this many validation results per mart (older ones are deleted from the store and the site).
KEEP_VALIDATION_RESULTS = 20
# One rule may quarantine this many records of one table in one run; more is a systemic fault and blocks instead.
QUARANTINE_LIMIT = 1000
# A publish that would remove more than this share of a reporting table's rows (at least COLLAPSE_MIN_ROWS) is
# a collapsed row count: it blocks. A table that would become empty always does.
COLLAPSE_SHARE = 0.5
COLLAPSE_MIN_ROWS = 10
# Columns a quarantine entry is told by, besides the key, when the mart has them.
_CONTEXT_COLUMNS = ("provider_id", "asset_key", "batch_id", deltas.CHANGED_AT)
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_EXAMPLES = 3


class AuditFailed(Exception):
    """The marts failed a table-level expectation: the message lists every failure and where the data docs are."""

    def __init__(self, failures: Sequence[str], data_docs_index: Path):
        self.failures = list(failures)
        self.data_docs_index = data_docs_index
        lines = [f"audit failed: {len(self.failures)} expectation(s) not met"]
        lines += [f"  - {line}" for line in self.failures]
        lines.append(f"data docs: {data_docs_index}")
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class QuarantinedRecord:
    """A row that broke a record-level rule: kept out of reporting, written to `audit.quarantine`."""

    table: str
    record_key: dict[str, Any]
    rule: str
    reason: str
    provider_id: str | None = None
    asset_key: str | None = None
    batch_id: str | None = None
    changed_at: datetime | None = None
    values: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        key = ", ".join(f"{column}={value}" for column, value in self.record_key.items())
        return f"{self.table} [{key}] provider {self.provider_id} batch {self.batch_id}: {self.reason}"


@dataclass(frozen=True)
class AuditResult:
    """Outcome of one audit: success unless a table-level rule failed (one human line each), the delta validated
    per table, the records quarantined, where the data docs are."""

    success: bool
    failures: list[str]
    data_docs_index: Path
    statistics: dict[str, dict[str, float]] = field(default_factory=dict)
    deltas: dict[str, Delta] = field(default_factory=dict)
    quarantined: list[QuarantinedRecord] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """What the audit task returns (XCom): the deltas publish must take, the quarantine counts per table."""
        counts: dict[str, int] = {}
        for entry in self.quarantined:
            counts[entry.table] = counts.get(entry.table, 0) + 1
        return {
            "success": self.success,
            "data_docs": str(self.data_docs_index),
            "deltas": {table: delta.to_json() for table, delta in self.deltas.items()},
            "quarantined": counts,
        }


def sqlalchemy_url(warehouse_url: str, schema: str) -> str:
    """The warehouse URL as GX's SQLAlchemy wants it, with `schema` as the only schema on the search path."""
    if not _SCHEMA_NAME.match(schema):
        raise ValueError(f"expected a lowercase schema name, got {schema!r}")
    parts = urlsplit(warehouse_url)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme not in ("postgresql", "postgres"):
        raise ValueError(f"expected a postgresql:// URL, got scheme {parts.scheme!r}")
    query = [(key, value) for key, value in parse_qsl(parts.query) if key != "options"]
    options = " ".join(value for key, value in parse_qsl(parts.query) if key == "options")
    query.append(("options", f"{options} -csearch_path={schema}".strip()))
    return urlunsplit(("postgresql+psycopg2", parts.netloc, parts.path, urlencode(query), ""))


def run_audit(
    warehouse_url: str,
    schema: str,
    tables: Sequence[str],
    gx_root_dir: Path,
    keys: Mapping[str, Sequence[str]] | None = None,
    target_schema: str = REPORTING_SCHEMA,
    keep_validations: int = KEEP_VALIDATION_RESULTS,
) -> AuditResult:
    """Validate each table's delta (rows changed since its last publish to target_schema, tombstones aside) with
    its suite, quarantine the records breaking a record-level rule, check the table-level invariants, update docs.

    A table without changed_at is validated whole (the full keyed diff publish falls back to). A table with no
    delta is not validated at all. Table-level failures (missing or duplicate keys, a collapsed row count, broken
    reconciliation, a table that cannot be read, more than QUARANTINE_LIMIT records breaking one rule) make the
    result unsuccessful; record-level ones only quarantine, so one provider's bad record blocks nobody. The GX
    project under gx_root_dir keeps the last keep_validations results per table and its data docs show them.
    """
    unknown = sorted(set(tables) - set(SUITE_BUILDERS))
    if unknown or not tables:
        raise ValueError(f"expected tables among {sorted(SUITE_BUILDERS)}, got {list(tables)!r}")
    if keys is None:
        from media_platform.config.dbt_manifest import publish_keys
        from media_platform.config.settings import PlatformSettings

        keys = publish_keys(PlatformSettings.from_env().dbt_manifest_path)
    failures: list[str] = []
    planned: dict[str, Delta] = {}
    columns: dict[str, dict[str, str]] = {}
    conn = psycopg2.connect(libpq_url(warehouse_url))
    try:
        with conn.cursor() as cur:
            deltas.ensure_control_tables(cur, schema)
            for table in tables:
                columns[table] = deltas.table_columns(cur, schema, table)
                if not columns[table]:
                    failures.append(f"{table}: cannot read {schema}.{table}: relation does not exist")
                    continue
                key = tuple(keys.get(table) or ())
                if not key or [column for column in key if column not in columns[table]]:
                    failures.append(f"{table}: {schema}.{table} lacks its publish key {list(key)}")
                    continue
                planned[table] = deltas.plan_delta(cur, schema, target_schema, table, columns[table])
                log.info("audit %s.%s: %s", schema, table, planned[table].describe())
                if not planned[table].empty:
                    failures += _table_invariants(
                        cur, schema, target_schema, table, key, columns[table], planned[table]
                    )
        conn.commit()
        to_validate = [table for table, delta in planned.items() if not delta.empty]
        statistics: dict[str, dict[str, float]] = {}
        quarantined: list[QuarantinedRecord] = []
        if to_validate:
            os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
            context = _file_context(gx_root_dir)
            for table in to_validate:
                try:
                    validation = _validate(
                        context, conn, warehouse_url, schema, table, keys[table], columns[table], planned[table]
                    )
                finally:
                    conn.rollback()  # a failed validation's statement must not keep the drop from running
                    with conn.cursor() as cur:
                        deltas.drop_snapshot(cur, schema, table)
                    conn.commit()
                statistics[table] = dict(validation.statistics)
                for outcome in validation.results:
                    if outcome.success:
                        continue
                    records, problem = _quarantinable(table, tuple(keys[table]), outcome)
                    if problem:
                        failures.append(problem)
                    quarantined += records
            with conn.cursor() as cur:
                for table in to_validate:
                    _write_quarantine(cur, schema, table, tuple(keys[table]), planned[table], quarantined)
            conn.commit()
            _prune_validations(context, keep_validations)
            docs = _data_docs_index(context)
        else:
            log.info(
                "audit of %s %s: no table changed since its last publish; nothing to validate", schema, list(tables)
            )
            docs = data_docs_index_path(gx_root_dir)
    finally:
        conn.close()
    result = AuditResult(
        success=not failures,
        failures=failures,
        data_docs_index=docs,
        statistics=statistics,
        deltas=planned,
        quarantined=quarantined,
    )
    for line in failures:
        log.warning("audit %s.%s", schema, line)
    for entry in quarantined[:50]:
        log.warning("quarantined %s", entry.describe())
    log.info(
        "audit of %s %s: %s, %d record(s) quarantined; data docs at %s",
        schema, list(tables), _verdict(result), len(quarantined), result.data_docs_index,
    )  # fmt: skip
    return result


def _validate(
    context: FileDataContext,
    conn: psycopg2.extensions.connection,
    warehouse_url: str,
    schema: str,
    table: str,
    key: Sequence[str],
    columns: Mapping[str, str],
    delta: Delta,
) -> Any:
    """Run the table's suite on a GX query asset over a snapshot of its delta's live rows; every failing row's key
    comes back."""
    import great_expectations as gx

    context.save_config_variable(CONNECTION_VARIABLE, sqlalchemy_url(warehouse_url, schema))
    datasource: Any
    if DATASOURCE_NAME in context.data_sources.all():
        datasource = context.data_sources.get(DATASOURCE_NAME)
    else:
        datasource = context.data_sources.add_postgres(
            name=DATASOURCE_NAME, connection_string="${" + CONNECTION_VARIABLE + "}"
        )
    with conn.cursor() as cur:
        rows = deltas.snapshot_delta(cur, schema, table, delta, live_only=deltas.IS_REMOVED in columns)
    conn.commit()
    log.info("audit %s.%s: %d live row(s) of the delta copied to %s for validation", schema, table, rows,
             deltas.snapshot_name(table))  # fmt: skip
    query = sql.SQL("select * from {}").format(sql.Identifier(schema, deltas.snapshot_name(table))).as_string(conn)
    if table in datasource.get_asset_names():
        datasource.delete_asset(table)
    asset = datasource.add_query_asset(name=table, query=query, batch_metadata={"delta": delta.describe()})
    batch_definition = asset.add_batch_definition_whole_table(BATCH_DEFINITION_NAME)
    suite = context.suites.add_or_update(SUITE_BUILDERS[table]())
    # The asset was just re-created, so a stored definition points at a batch definition that no longer exists
    # (and one written by an older version of this module at another asset): replace it without reading it.
    store = context.validation_definition_store
    stored = store.get_key(name=f"audit_{table}", id=None)
    if store.has_key(key=stored):
        store.remove_key(key=stored)
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=f"audit_{table}", data=batch_definition, suite=suite)
    )
    index_columns = list(dict.fromkeys([*key, *(column for column in _CONTEXT_COLUMNS if column in columns)]))
    return definition.run(
        result_format={
            "result_format": "COMPLETE",
            "unexpected_index_column_names": index_columns,
            "partial_unexpected_count": QUARANTINE_LIMIT,
            "return_unexpected_index_query": False,
        }
    )


def _quarantinable(
    table: str, key: tuple[str, ...], outcome: ExpectationValidationResult
) -> tuple[list[QuarantinedRecord], str | None]:
    """The records a failed expectation quarantines, or the table-level failure line it is instead."""
    config = outcome.expectation_config
    if config is None or not is_record_level(config.meta) or _error_message(outcome.exception_info or {}):
        return [], _describe_failure(table, outcome)
    details = outcome.result or {}
    if "unexpected_index_list" in details:
        rows = list(details.get("unexpected_index_list") or [])
        count = int(details.get("unexpected_count") or 0)
    else:
        rows = list((details.get("details") or {}).get("unexpected_rows") or [])
        count = int(details.get("observed_value") or 0)
    if count > len(rows) or any(column not in row for row in rows for column in key):
        return [], f"{_describe_failure(table, outcome)}; more than {len(rows)} records: too many to quarantine"
    rule = _label(config.type, dict(config.kwargs))
    records = [
        QuarantinedRecord(
            table=table,
            record_key={column: _plain(row[column]) for column in key},
            rule=rule,
            reason=_reason(config.type, dict(config.kwargs), config.description, row),
            provider_id=row.get("provider_id"),
            asset_key=row.get("asset_key"),
            batch_id=row.get("batch_id"),
            changed_at=row.get(deltas.CHANGED_AT),
            values={column: _plain(value) for column, value in row.items() if column not in key},
        )
        for row in rows
    ]
    return records, None


def _write_quarantine(
    cur: psycopg2.extensions.cursor,
    schema: str,
    table: str,
    key: tuple[str, ...],
    delta: Delta,
    quarantined: Sequence[QuarantinedRecord],
) -> None:
    """Close the table's open entries for every key this delta revalidated, then add this run's entries: a key is
    quarantined exactly while its latest audited version breaks a record-level rule."""
    quarantine = sql.Identifier(schema, deltas.QUARANTINE_TABLE)
    revalidated = (
        sql.SQL("true")  # the whole table was validated: every entry is decided anew
        if delta.full
        else sql.SQL("record_key in (select {} from {} as s where {})").format(
            deltas.key_json(key, "s"), sql.Identifier(schema, table), deltas.delta_condition(delta)
        )
    )
    cur.execute(
        sql.SQL("update {} set is_open = false where table_name = %s and is_open and {}").format(
            quarantine, revalidated
        ),
        (table,),
    )
    rows = [
        (
            entry.table, Json(entry.record_key), entry.provider_id, entry.asset_key, entry.batch_id,
            entry.rule, entry.reason, Json(entry.values), entry.changed_at,
        )
        for entry in quarantined
        if entry.table == table
    ]  # fmt: skip
    if rows:
        execute_values(
            cur,
            sql.SQL(
                "insert into {} (table_name, record_key, provider_id, asset_key, batch_id, rule, reason, record,"
                " changed_at) values %s"
            )
            .format(quarantine)
            .as_string(cur),
            rows,
        )


def _table_invariants(
    cur: psycopg2.extensions.cursor,
    schema: str,
    target_schema: str,
    table: str,
    key: tuple[str, ...],
    columns: Mapping[str, str],
    delta: Delta,
) -> list[str]:
    """The table-level checks kept out of GX because the database answers them without a scan: the unique index
    on the key in audit (delta contract), and a row count that would collapse in reporting."""
    failures = []
    if not delta.full and not _has_unique_index(cur, schema, table, key):
        failures.append(f"{table}: {schema}.{table} has no unique index on its publish key {list(key)}")
    published = _row_count(cur, target_schema, table)
    if published is None or published == 0:
        return failures
    source = sql.Identifier(schema, table)
    if delta.full:
        live = (
            sql.SQL("not {}").format(sql.Identifier(deltas.IS_REMOVED))
            if deltas.IS_REMOVED in columns
            else sql.SQL("true")
        )
        cur.execute(sql.SQL("select count(*) from {} where {}").format(source, live))
        remaining = int(cur.fetchone()[0])
    elif deltas.IS_REMOVED in columns:
        cur.execute(
            sql.SQL("select count(*) from {} as s where {} and s.{}").format(
                source, deltas.delta_condition(delta), sql.Identifier(deltas.IS_REMOVED)
            )
        )
        remaining = published - int(cur.fetchone()[0])
    else:
        return failures
    lost = published - remaining
    if remaining <= 0 or (lost >= COLLAPSE_MIN_ROWS and lost > COLLAPSE_SHARE * published):
        failures.append(
            f"{table}: row count collapsed: {target_schema}.{table} would keep {max(remaining, 0)} of its {published}"
            f" rows (a publish may remove at most {COLLAPSE_SHARE:.0%})"
        )
    return failures


def _has_unique_index(cur: psycopg2.extensions.cursor, schema: str, table: str, key: Sequence[str]) -> bool:
    cur.execute(
        """
        select array_agg(a.attname::text order by a.attname)
        from pg_index as i
        join pg_attribute as a on a.attrelid = i.indrelid and a.attnum = any(i.indkey::int2[])
        where i.indrelid = %s::regclass and i.indisunique and i.indpred is null and i.indexprs is null
        group by i.indexrelid
        """,
        (sql.Identifier(schema, table).as_string(cur),),
    )
    return any(columns == sorted(key) for (columns,) in cur.fetchall())


def _row_count(cur: psycopg2.extensions.cursor, schema: str, table: str) -> int | None:
    """Rows of a reporting table: the planner's estimate for a big analysed table, else counted; None if absent."""
    cur.execute(
        "select reltuples from pg_class where oid = to_regclass(%s)", (sql.Identifier(schema, table).as_string(cur),)
    )
    row = cur.fetchone()
    if row is None:
        return None
    if row[0] >= 100_000:
        return int(row[0])
    cur.execute(sql.SQL("select count(*) from {}").format(sql.Identifier(schema, table)))
    return int(cur.fetchone()[0])


def _prune_validations(context: FileDataContext, keep: int) -> None:
    """Keep the newest `keep` validation results per suite in the store, then rebuild the docs site from them."""
    store = context.validation_results_store
    by_suite: dict[str, list[Any]] = {}
    found_keys: list[Any] = store.list_keys()
    for result_key in found_keys:
        by_suite.setdefault(result_key.expectation_suite_identifier.name, []).append(result_key)
    removed = 0
    for found in by_suite.values():
        found.sort(key=lambda result_key: str(result_key.run_id.run_time), reverse=True)
        for result_key in found[keep:]:
            store.remove_key(result_key)
            removed += 1
    site = data_docs_index_path(Path(context.root_directory).parent).parent
    shutil.rmtree(site / "validations", ignore_errors=True)
    context.build_data_docs(site_names=[DATA_DOCS_SITE])
    if removed:
        log.info("data docs: removed %d validation result(s) older than the last %d per table", removed, keep)


def raise_for_result(result: AuditResult) -> None:
    """Raise AuditFailed, naming every failed expectation and the data docs, unless the audit passed."""
    if not result.success:
        raise AuditFailed(
            result.failures or ["checkpoint reported failure without failed expectations"], result.data_docs_index
        )


def _file_context(gx_root_dir: Path) -> FileDataContext:
    """The persistent GX project under gx_root_dir, with analytics and progress bars off."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    gx_root_dir.mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="file", project_root_dir=gx_root_dir)
    if context.variables.analytics_enabled is not False or context.variables.progress_bars is None:
        context.variables.analytics_enabled = False
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        context.variables.save()
    _owner_only_config_variables(context)
    return context


def _owner_only_config_variables(context: FileDataContext) -> None:
    """GX writes the warehouse URL (with its password) into uncommitted/config_variables.yml, a file it creates
    world-readable: make it owner-only (0600, its folder 0700) before the URL is written. GX rewrites the file in
    place, so the mode stays."""
    relative = context.variables.config.config_variables_file_path
    if not relative or context.root_directory is None:
        return
    path = Path(context.root_directory) / relative
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    path.chmod(0o600)


def data_docs_index_path(gx_root_dir: Path) -> Path:
    """Where the local data docs site's index lands for a GX project under gx_root_dir (without loading GX)."""
    return gx_root_dir / "gx" / "uncommitted" / "data_docs" / DATA_DOCS_SITE / "index.html"


def _data_docs_index(context: FileDataContext) -> Path:
    url = context.get_docs_sites_urls(site_name=DATA_DOCS_SITE)[0]["site_url"]
    return Path(unquote(urlsplit(url).path))


def _verdict(result: AuditResult) -> str:
    return "passed" if result.success else f"{len(result.failures)} failure(s)"


def _label(name: str, kwargs: Mapping[str, Any]) -> str:
    """An expectation by type and columns: `expect_column_values_to_be_between(runtime_minutes)`."""
    columns = [str(kwargs[key]) for key in ("column", "column_A", "column_B") if kwargs.get(key)]
    return f"{name}({', '.join(columns)})" if columns else name


def _reason(name: str, kwargs: Mapping[str, Any], description: str | None, row: Mapping[str, Any]) -> str:
    """Why one row broke a record-level rule, with the values that broke it."""
    column = kwargs.get("column")
    value = _show(row.get(column)) if column else None
    if name == "expect_column_values_to_not_be_null":
        return f"{column} is null"
    if name == "expect_column_values_to_be_between":
        return f"{column} {value} not between {_show(kwargs.get('min_value'))} and {_show(kwargs.get('max_value'))}"
    if name == "expect_column_values_to_be_in_set":
        return f"{column} {value} not among the accepted values"
    if name == "expect_column_values_to_match_regex":
        return f"{column} {value} does not match {kwargs.get('regex')}"
    if name == "expect_column_pair_values_a_to_be_greater_than_b":
        a, b = kwargs["column_A"], kwargs["column_B"]
        order = "before" if kwargs.get("or_equal") else "not after"
        return f"{a} {_show(row.get(a))} {order} {b} {_show(row.get(b))}"
    return description or _label(name, kwargs)


def _plain(value: Any) -> Any:
    """A value as JSON keeps it (dates and decimals as text)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _describe_failure(table: str, result: ExpectationValidationResult) -> str:
    """One human line: which expectation on which columns, and what was found."""
    config = result.expectation_config
    name = config.type if config else "unknown_expectation"
    kwargs: dict[str, Any] = dict(config.kwargs) if config else {}
    label = _label(name, kwargs)
    if config and config.description:
        label += f" [{config.description}]"
    error = _error_message(result.exception_info or {})
    if error:
        return f"{table}: {label} raised an error: {error}"
    details = result.result or {}
    if "unexpected_count" in details:
        text = f"{details['unexpected_count']} of {details.get('element_count', '?')} rows unexpected"
        examples = details.get("partial_unexpected_list") or []
        if examples:
            text += f", e.g. [{', '.join(_show(value) for value in examples[:_EXAMPLES])}]"
    elif name == "unexpected_rows_expectation":
        text = f"{details.get('observed_value', '?')} rows unexpected"
    else:
        text = f"observed {details.get('observed_value')!r}"
    return f"{table}: {label} failed: {text}"


def _error_message(exception_info: dict[str, Any]) -> str | None:
    """The first error GX caught: flat for the expectation itself, keyed by metric when a query failed."""
    candidates = [exception_info, *(value for value in exception_info.values() if isinstance(value, dict))]
    for info in candidates:
        message = info.get("exception_message")
        if message:
            return _first_line(message)
    return None


def _first_line(error: object) -> str:
    return str(error).strip().split("\n", 1)[0]


def _show(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "(" + ", ".join(_show(item) for item in value) + ")"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value)
