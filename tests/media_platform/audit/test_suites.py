"""The data contract of the marts: one suite per published table, and each titles rule catches its violation."""

from __future__ import annotations

from pathlib import Path

import psycopg2
import pytest
from audit_cases import execute

from media_platform.audit.gx_checkpoint import run_audit
from media_platform.audit.suites import SUITE_BUILDERS, titles_suite


def test_every_suite_is_named_for_its_mart() -> None:
    # that the suites and the published marts agree is tests/dbt/test_published_marts.py
    for table, build in SUITE_BUILDERS.items():
        suite = build()
        assert suite.name == table
        assert suite.expectations
    titles = {(e.expectation_type, getattr(e, "column", None)) for e in titles_suite().expectations}
    assert ("expect_column_values_to_be_unique", "asset_key") in titles
    assert ("expect_column_values_to_be_between", "runtime_minutes") in titles
    assert ("expect_column_values_to_match_regex", "eidr_id") in titles


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
    execute(warehouse, change.format(t=f"{marts}.titles"))

    result = run_audit(warehouse_dsn, marts, ["titles"], tmp_path)

    assert not result.success
    assert len(result.failures) == 1, result.failures
    assert result.failures[0].startswith("titles: ")
    assert expected in result.failures[0]
