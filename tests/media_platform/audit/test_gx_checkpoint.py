"""The audit checkpoint against a real PostgreSQL and a real GX project: failure lines, data docs, reruns."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import psycopg2
import pytest
from audit_cases import TABLES, audit, execute, open_quarantine, validation_pages

from media_platform.audit.delta import SNAPSHOT_PREFIX, snapshot_name
from media_platform.audit.gx_checkpoint import AuditFailed, raise_for_result, run_audit, sqlalchemy_url


def test_sqlalchemy_url_pins_the_schema_and_keeps_other_options() -> None:
    url = sqlalchemy_url("postgresql://u:p@127.0.0.1:5432/wh?sslmode=disable", "audit")
    assert url == "postgresql+psycopg2://u:p@127.0.0.1:5432/wh?sslmode=disable&options=-csearch_path%3Daudit"
    with pytest.raises(ValueError, match="schema"):
        sqlalchemy_url("postgresql://h/wh", "audit; drop")
    with pytest.raises(ValueError, match="postgresql"):
        sqlalchemy_url("mysql://h/wh", "audit")


def test_good_marts_pass(warehouse_dsn: str, marts: str, tmp_path: Path) -> None:
    result = audit(warehouse_dsn, marts, TABLES, tmp_path)

    assert result.success, result.failures
    assert result.failures == []
    assert set(result.statistics) == set(TABLES)
    assert all(stats["unsuccessful_expectations"] == 0 for stats in result.statistics.values())
    assert result.data_docs_index.is_file()
    raise_for_result(result)
    project = (tmp_path / "gx" / "great_expectations.yml").read_text()
    assert "analytics_enabled: false" in project
    assert warehouse_dsn.split("@", 1)[1] not in project, "the warehouse URL belongs in uncommitted/ only"


def test_the_file_holding_the_warehouse_url_is_owner_only(warehouse_dsn: str, marts: str, tmp_path: Path) -> None:
    previous = os.umask(0o022)  # the usual umask, under which GX creates its files world-readable
    try:
        audit(warehouse_dsn, marts, TABLES, tmp_path)
    finally:
        os.umask(previous)
    variables = tmp_path / "gx" / "uncommitted" / "config_variables.yml"
    assert "media_warehouse_connection" in variables.read_text()
    assert stat.S_IMODE(variables.stat().st_mode) == 0o600
    assert stat.S_IMODE(variables.parent.stat().st_mode) == 0o700


def test_a_record_breaking_a_record_rule_is_quarantined_and_the_audit_passes(
    warehouse: psycopg2.extensions.connection, warehouse_dsn: str, marts: str, tmp_path: Path
) -> None:
    execute(warehouse, f"update {marts}.titles set runtime_minutes = 5940 where asset_key = 'acme:m1'")

    result = audit(warehouse_dsn, marts, TABLES, tmp_path)

    assert result.success, result.failures
    assert [entry.describe() for entry in result.quarantined] == [
        "titles [asset_key=acme:m1] provider acme batch acme-20240101: runtime_minutes 5940 not between 1 and 600"
    ]
    assert open_quarantine(warehouse, marts) == [
        (
            "titles",
            {"asset_key": "acme:m1"},
            "acme",
            "acme:m1",
            "acme-20240101",
            "expect_column_values_to_be_between(runtime_minutes)",
            "runtime_minutes 5940 not between 1 and 600",
        )
    ]
    assert result.summary()["quarantined"] == {"titles": 1}
    raise_for_result(result)
    (page,) = validation_pages(result, "titles")
    html = page.read_text()
    assert "runtime_minutes" in html and "5940" in html


def test_a_table_level_failure_fails_names_the_rule_and_shows_in_data_docs(
    warehouse: psycopg2.extensions.connection, warehouse_dsn: str, marts: str, tmp_path: Path
) -> None:
    execute(warehouse, f"update {marts}.titles set asset_key = 'acme:m1' where asset_key = 'acme:m2'")

    result = audit(warehouse_dsn, marts, TABLES, tmp_path)

    assert not result.success
    assert result.failures == [
        "titles: expect_column_values_to_be_unique(asset_key) failed: 2 of 3 rows unexpected,"
        " e.g. ['acme:m1', 'acme:m1']"
    ]
    assert result.statistics["provider_deliveries"]["unsuccessful_expectations"] == 0
    with pytest.raises(AuditFailed) as raised:
        raise_for_result(result)
    assert "asset_key" in str(raised.value)
    assert str(result.data_docs_index) in str(raised.value)
    assert "Failed" in result.data_docs_index.read_text()


def test_unreconciled_delivery_fails(
    warehouse: psycopg2.extensions.connection, warehouse_dsn: str, marts: str, tmp_path: Path
) -> None:
    execute(warehouse, f"update {marts}.provider_deliveries set records_loaded = 2 where batch_id = 'acme-20240102'")

    result = audit(warehouse_dsn, marts, TABLES, tmp_path)

    assert not result.success
    (line,) = result.failures
    assert line.startswith("provider_deliveries: unexpected_rows_expectation")
    assert "records_read = records_loaded + records_quarantined" in line
    assert "1 rows unexpected" in line
    (page,) = validation_pages(result, "provider_deliveries")
    assert "records_read = records_loaded + records_quarantined" in page.read_text()


def test_missing_table_is_a_failure_and_the_rest_is_still_validated(
    warehouse: psycopg2.extensions.connection, warehouse_dsn: str, marts: str, tmp_path: Path
) -> None:
    execute(warehouse, f"drop table {marts}.titles")

    result = audit(warehouse_dsn, marts, TABLES, tmp_path)

    assert not result.success
    (line,) = result.failures
    assert line.startswith(f"titles: cannot read {marts}.titles") and "does not exist" in line
    assert set(result.statistics) == {"provider_deliveries"}


def test_reruns_in_the_same_project_keep_the_last_results_only(
    warehouse: psycopg2.extensions.connection, warehouse_dsn: str, marts: str, tmp_path: Path
) -> None:
    first = audit(warehouse_dsn, marts, TABLES, tmp_path, keep_validations=2)
    execute(warehouse, f"update {marts}.titles set asset_key = 'acme:m1' where asset_key = 'acme:m2'")
    second = audit(warehouse_dsn, marts, TABLES, tmp_path, keep_validations=2)
    third = audit(warehouse_dsn, marts, ["provider_deliveries"], tmp_path, keep_validations=2)
    fourth = audit(warehouse_dsn, marts, ["provider_deliveries"], tmp_path, keep_validations=2)

    assert first.success and not second.success and third.success and fourth.success
    assert first.data_docs_index == second.data_docs_index == fourth.data_docs_index
    assert len(validation_pages(second, "titles")) == 2
    assert len(validation_pages(fourth, "titles")) == 2
    assert len(validation_pages(fourth, "provider_deliveries")) == 2  # of four runs
    stored = list((tmp_path / "gx" / "uncommitted" / "validations" / "provider_deliveries").rglob("*.json"))
    assert len(stored) == 2


def test_a_project_left_by_an_older_layout_is_taken_over(warehouse_dsn: str, marts: str, tmp_path: Path) -> None:
    import json

    audit(warehouse_dsn, marts, TABLES, tmp_path)
    # a definition pointing at a batch definition that no longer exists, as an earlier version of the audit left
    stored = tmp_path / "gx" / "validation_definitions" / "audit_titles.json"
    definition = json.loads(stored.read_text())
    definition["data"]["batch_definition"]["name"] = "whole_table_of_an_older_layout"
    stored.write_text(json.dumps(definition))

    result = audit(warehouse_dsn, marts, TABLES, tmp_path)

    assert result.success, result.failures


def test_unknown_table_is_refused(warehouse_dsn: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="expected tables among"):
        run_audit(warehouse_dsn, "audit", ["titles", "episodes"], tmp_path)


def test_a_fixed_record_leaves_the_quarantine(
    warehouse: psycopg2.extensions.connection, warehouse_dsn: str, marts: str, tmp_path: Path
) -> None:
    execute(warehouse, f"update {marts}.titles set release_year = 1700 where asset_key = 'acme:m1'")
    first = audit(warehouse_dsn, marts, TABLES, tmp_path)
    execute(warehouse, f"update {marts}.titles set release_year = 1999 where asset_key = 'acme:m1'")

    second = audit(warehouse_dsn, marts, TABLES, tmp_path)

    assert [entry.record_key for entry in first.quarantined] == [{"asset_key": "acme:m1"}]
    assert second.quarantined == [] and open_quarantine(warehouse, marts) == []


def test_the_delta_is_validated_from_a_copy_that_is_dropped_afterwards(
    warehouse: psycopg2.extensions.connection, warehouse_dsn: str, marts: str, tmp_path: Path
) -> None:
    execute(warehouse, f"update {marts}.titles set asset_key = 'acme:m1' where asset_key = 'acme:m2'")

    result = audit(warehouse_dsn, marts, TABLES, tmp_path)

    assert not result.success  # a failing validation drops its copy too
    with warehouse.cursor() as cur:
        cur.execute(
            "select tablename from pg_tables where schemaname = %s and starts_with(tablename, %s)",
            (marts, SNAPSHOT_PREFIX),
        )
        assert cur.fetchall() == []
    (page,) = validation_pages(result, "titles")
    assert snapshot_name("titles") in page.read_text(), "the validated batch is the delta's copy"
