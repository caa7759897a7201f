"""The audit gate against a real PostgreSQL and a real GX project: suites, failure lines, data docs, reruns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg2
import pytest

from media_platform import quality

TABLES = ["titles", "provider_deliveries"]

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


def _title(asset_id: str, **overrides: Any) -> dict[str, Any]:
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
    _title("m1"),
    _title(
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
    _title(
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


def _insert(conn: psycopg2.extensions.connection, table: str, rows: list[dict[str, Any]]) -> None:
    with conn.cursor() as cur:
        for row in rows:
            columns = ", ".join(row)
            placeholders = ", ".join(["%s"] * len(row))
            cur.execute(f"insert into {table} ({columns}) values ({placeholders})", list(row.values()))


def _execute(conn: psycopg2.extensions.connection, statement: str) -> None:
    with conn.cursor() as cur:
        cur.execute(statement)


@pytest.fixture()
def marts(warehouse: psycopg2.extensions.connection, scratch_schema: str) -> str:
    """Good `titles` and `provider_deliveries` in the scratch schema; returns the schema name."""
    _execute(warehouse, TITLES_DDL.format(schema=scratch_schema))
    _execute(warehouse, DELIVERIES_DDL.format(schema=scratch_schema))
    _insert(warehouse, f"{scratch_schema}.titles", GOOD_TITLES)
    _insert(warehouse, f"{scratch_schema}.provider_deliveries", GOOD_DELIVERIES)
    return scratch_schema


def _validation_pages(result: quality.AuditResult, suite: str) -> list[Path]:
    return sorted((result.data_docs_index.parent / "validations" / suite).rglob("*.html"))


def test_every_suite_is_named_for_its_mart() -> None:
    # that the suites and the published marts agree is tests/dbt/test_published_marts.py
    for table, build in quality.SUITE_BUILDERS.items():
        suite = build()
        assert suite.name == table
        assert suite.expectations
    titles = {(e.expectation_type, getattr(e, "column", None)) for e in quality.titles_suite().expectations}
    assert ("expect_column_values_to_be_unique", "asset_key") in titles
    assert ("expect_column_values_to_be_between", "runtime_minutes") in titles
    assert ("expect_column_values_to_match_regex", "eidr_id") in titles


def test_sqlalchemy_url_pins_the_schema_and_keeps_other_options() -> None:
    url = quality.sqlalchemy_url("postgresql://u:p@127.0.0.1:5432/wh?sslmode=disable", "audit")
    assert url == "postgresql+psycopg2://u:p@127.0.0.1:5432/wh?sslmode=disable&options=-csearch_path%3Daudit"
    with pytest.raises(ValueError, match="schema"):
        quality.sqlalchemy_url("postgresql://h/wh", "audit; drop")
    with pytest.raises(ValueError, match="postgresql"):
        quality.sqlalchemy_url("mysql://h/wh", "audit")


def test_good_marts_pass(warehouse_dsn: str, marts: str, tmp_path: Path) -> None:
    result = quality.run_audit(warehouse_dsn, marts, TABLES, tmp_path)

    assert result.success, result.failures
    assert result.failures == []
    assert set(result.statistics) == set(TABLES)
    assert all(stats["unsuccessful_expectations"] == 0 for stats in result.statistics.values())
    assert result.data_docs_index.is_file()
    quality.raise_for_result(result)
    project = (tmp_path / "gx" / "great_expectations.yml").read_text()
    assert "analytics_enabled: false" in project
    assert warehouse_dsn.split("@", 1)[1] not in project, "the warehouse URL belongs in uncommitted/ only"


def test_runtime_out_of_range_fails_names_the_column_and_shows_in_data_docs(
    warehouse: psycopg2.extensions.connection, warehouse_dsn: str, marts: str, tmp_path: Path
) -> None:
    _execute(warehouse, f"update {marts}.titles set runtime_minutes = 5940 where asset_key = 'acme:m1'")

    result = quality.run_audit(warehouse_dsn, marts, TABLES, tmp_path)

    assert not result.success
    assert result.failures == [
        "titles: expect_column_values_to_be_between(runtime_minutes) failed: 1 of 3 rows unexpected, e.g. [5940]"
    ]
    assert result.statistics["provider_deliveries"]["unsuccessful_expectations"] == 0
    with pytest.raises(quality.AuditFailed) as raised:
        quality.raise_for_result(result)
    assert "runtime_minutes" in str(raised.value)
    assert str(result.data_docs_index) in str(raised.value)
    assert "Failed" in result.data_docs_index.read_text()
    (page,) = _validation_pages(result, "titles")
    html = page.read_text()
    assert "runtime_minutes" in html and "5940" in html


def test_unreconciled_delivery_fails(
    warehouse: psycopg2.extensions.connection, warehouse_dsn: str, marts: str, tmp_path: Path
) -> None:
    _execute(warehouse, f"update {marts}.provider_deliveries set records_loaded = 2 where batch_id = 'acme-20240102'")

    result = quality.run_audit(warehouse_dsn, marts, TABLES, tmp_path)

    assert not result.success
    (line,) = result.failures
    assert line.startswith("provider_deliveries: unexpected_rows_expectation")
    assert "records_read = records_loaded + records_quarantined" in line
    assert "1 rows unexpected" in line
    (page,) = _validation_pages(result, "provider_deliveries")
    assert "records_read = records_loaded + records_quarantined" in page.read_text()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(
            "update {t} set asset_key = 'acme:m1'", "expect_column_values_to_be_unique(asset_key)", id="duplicate_key"
        ),
        pytest.param(
            "update {t} set title = null where asset_key = 'acme:e1'",
            "expect_column_values_to_not_be_null(title)",
            id="missing_title",
        ),
        pytest.param(
            "update {t} set release_year = 1700 where asset_key = 'acme:m1'",
            "expect_column_values_to_be_between(release_year)",
            id="release_year",
        ),
        pytest.param(
            "update {t} set eidr_id = lower(eidr_id) where eidr_id is not null",
            "expect_column_values_to_match_regex(eidr_id)",
            id="eidr_not_canonical",
        ),
        pytest.param(
            "update {t} set eidr_id = null where eidr_status = 'valid'",
            "eidr_id is set whenever eidr_status is 'valid'",
            id="valid_without_eidr",
        ),
        pytest.param(
            "update {t} set eidr_status = 'unknown' where asset_key = 'acme:m2'",
            "expect_column_values_to_be_in_set(eidr_status)",
            id="eidr_status",
        ),
        pytest.param(
            "update {t} set asset_type = 'short' where asset_key = 'acme:m2'",
            "expect_column_values_to_be_in_set(asset_type)",
            id="asset_type",
        ),
        pytest.param(
            "update {t} set licensing_window_end = licensing_window_start - interval '1 day'"
            " where asset_key = 'acme:m1'",
            "expect_column_pair_values_a_to_be_greater_than_b(licensing_window_end, licensing_window_start)",
            id="licensing_window",
        ),
        pytest.param("delete from {t}", "expect_table_row_count_to_be_between", id="empty_table"),
    ],
)
def test_each_titles_rule_catches_its_violation(
    warehouse: psycopg2.extensions.connection,
    warehouse_dsn: str,
    marts: str,
    tmp_path: Path,
    change: str,
    expected: str,
) -> None:
    _execute(warehouse, change.format(t=f"{marts}.titles"))

    result = quality.run_audit(warehouse_dsn, marts, ["titles"], tmp_path)

    assert not result.success
    assert len(result.failures) == 1, result.failures
    assert result.failures[0].startswith("titles: ")
    assert expected in result.failures[0]


def test_missing_table_is_a_failure_and_the_rest_is_still_validated(
    warehouse: psycopg2.extensions.connection, warehouse_dsn: str, marts: str, tmp_path: Path
) -> None:
    _execute(warehouse, f"drop table {marts}.titles")

    result = quality.run_audit(warehouse_dsn, marts, TABLES, tmp_path)

    assert not result.success
    (line,) = result.failures
    assert line.startswith(f"titles: cannot read {marts}.titles") and "does not exist" in line
    assert set(result.statistics) == {"provider_deliveries"}


def test_rerun_in_the_same_project_keeps_earlier_docs(
    warehouse: psycopg2.extensions.connection, warehouse_dsn: str, marts: str, tmp_path: Path
) -> None:
    first = quality.run_audit(warehouse_dsn, marts, TABLES, tmp_path)
    _execute(warehouse, f"update {marts}.titles set runtime_minutes = 5940 where asset_key = 'acme:m1'")
    second = quality.run_audit(warehouse_dsn, marts, TABLES, tmp_path)
    third = quality.run_audit(warehouse_dsn, marts, ["provider_deliveries"], tmp_path)

    assert first.success and not second.success and third.success
    assert first.data_docs_index == second.data_docs_index == third.data_docs_index
    assert len(_validation_pages(second, "titles")) == 2
    assert len(_validation_pages(third, "provider_deliveries")) == 3


def test_unknown_table_is_refused(warehouse_dsn: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="expected tables among"):
        quality.run_audit(warehouse_dsn, "audit", ["titles", "episodes"], tmp_path)
