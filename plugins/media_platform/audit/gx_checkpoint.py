"""The audit gate's machinery: the mart suites run as one GX checkpoint that also rebuilds data docs."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from media_platform.audit.suites import SUITE_BUILDERS

if TYPE_CHECKING:
    from great_expectations.core import ExpectationValidationResult
    from great_expectations.data_context import FileDataContext

log = logging.getLogger(__name__)

CHECKPOINT_NAME = "audit_marts"
DATASOURCE_NAME = "warehouse"
BATCH_DEFINITION_NAME = "whole_table"
DATA_DOCS_SITE = "local_site"
# Kept in GX's uncommitted/config_variables.yml so credentials never land in great_expectations.yml.
CONNECTION_VARIABLE = "media_warehouse_connection"
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_EXAMPLES = 3


class AuditFailed(Exception):
    """The mart tables failed their expectations: the message lists every failure and where the data docs are."""

    def __init__(self, failures: Sequence[str], data_docs_index: Path):
        self.failures = list(failures)
        self.data_docs_index = data_docs_index
        lines = [f"audit failed: {len(self.failures)} expectation(s) not met"]
        lines += [f"  - {line}" for line in self.failures]
        lines.append(f"data docs: {data_docs_index}")
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class AuditResult:
    """Outcome of one checkpoint run: overall success, one human line per failed expectation, where the docs are."""

    success: bool
    failures: list[str]
    data_docs_index: Path
    statistics: dict[str, dict[str, float]] = field(default_factory=dict)


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


def run_audit(warehouse_url: str, schema: str, tables: Sequence[str], gx_root_dir: Path) -> AuditResult:
    """Validate `schema.<table>` for each table with its suite in one checkpoint, update data docs, report.

    The GX project under gx_root_dir is kept between runs so data docs accumulate; every object is
    looked up or added/updated by name, so running again (with other tables or another schema) is safe.
    A table that cannot be read is reported as a failure; the others are still validated.
    """
    import great_expectations as gx
    from great_expectations.datasource.fluent.interfaces import TestConnectionError

    unknown = sorted(set(tables) - set(SUITE_BUILDERS))
    if unknown or not tables:
        raise ValueError(f"expected tables among {sorted(SUITE_BUILDERS)}, got {list(tables)!r}")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    context = _file_context(gx_root_dir)
    context.save_config_variable(CONNECTION_VARIABLE, sqlalchemy_url(warehouse_url, schema))
    if DATASOURCE_NAME in context.data_sources.all():
        datasource = context.data_sources.get(DATASOURCE_NAME)
    else:
        datasource = context.data_sources.add_postgres(
            name=DATASOURCE_NAME, connection_string="${" + CONNECTION_VARIABLE + "}"
        )

    failures: list[str] = []
    validations = []
    for table in tables:
        try:
            asset = _table_asset(datasource, table)
        except TestConnectionError as err:
            failures.append(f"{table}: cannot read {schema}.{table}: {_first_line(err.__cause__ or err)}")
            continue
        try:
            batch_definition = asset.get_batch_definition(BATCH_DEFINITION_NAME)
        except KeyError:
            batch_definition = asset.add_batch_definition_whole_table(BATCH_DEFINITION_NAME)
        suite = context.suites.add_or_update(SUITE_BUILDERS[table]())
        validations.append(
            context.validation_definitions.add_or_update(
                gx.ValidationDefinition(name=f"audit_{table}", data=batch_definition, suite=suite)
            )
        )

    statistics: dict[str, dict[str, float]] = {}
    if validations:
        checkpoint = context.checkpoints.add_or_update(
            gx.Checkpoint(
                name=CHECKPOINT_NAME,
                validation_definitions=validations,
                actions=[gx.checkpoint.UpdateDataDocsAction(name="update_data_docs", site_names=[DATA_DOCS_SITE])],
            )
        )
        outcome = checkpoint.run()
        for validation in outcome.run_results.values():
            table = validation.suite_name
            statistics[table] = dict(validation.statistics)
            failures += [_describe_failure(table, result) for result in validation.results if not result.success]
        if not outcome.success and not failures:
            failures.append("checkpoint reported failure without a failed expectation")
    result = AuditResult(
        success=not failures, failures=failures, data_docs_index=_data_docs_index(context), statistics=statistics
    )
    for line in failures:
        log.warning("audit %s.%s", schema, line)
    log.info("audit of %s %s: %s; data docs at %s", schema, list(tables), _verdict(result), result.data_docs_index)
    return result


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
    return context


def _table_asset(datasource: Any, table: str) -> Any:
    """The table asset, added on first use; either way the table is probed so a missing one fails early."""
    try:
        asset = datasource.get_asset(table)
    except LookupError:
        return datasource.add_table_asset(name=table, table_name=table)
    asset.test_connection()
    return asset


def data_docs_index_path(gx_root_dir: Path) -> Path:
    """Where the local data docs site's index lands for a GX project under gx_root_dir (without loading GX)."""
    return gx_root_dir / "gx" / "uncommitted" / "data_docs" / DATA_DOCS_SITE / "index.html"


def _data_docs_index(context: FileDataContext) -> Path:
    url = context.get_docs_sites_urls(site_name=DATA_DOCS_SITE)[0]["site_url"]
    return Path(unquote(urlsplit(url).path))


def _verdict(result: AuditResult) -> str:
    return "passed" if result.success else f"{len(result.failures)} failure(s)"


def _describe_failure(table: str, result: ExpectationValidationResult) -> str:
    """One human line: which expectation on which columns, and what was found."""
    config = result.expectation_config
    name = config.type if config else "unknown_expectation"
    kwargs: dict[str, Any] = dict(config.kwargs) if config else {}
    columns = [str(kwargs[key]) for key in ("column", "column_A", "column_B") if kwargs.get(key)]
    label = f"{name}({', '.join(columns)})" if columns else name
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
    return repr(value)
