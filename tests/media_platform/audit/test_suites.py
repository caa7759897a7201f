"""The marts' contract: one suite per published table; every titles rule catches its violation, at its level."""

from __future__ import annotations

from pathlib import Path

import psycopg2
import pytest
from audit_cases import audit, execute, open_quarantine

from media_platform.audit.suites import SUITE_BUILDERS, is_record_level, titles_suite


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
    levels = {
        (e.expectation_type, getattr(e, "column", None)): is_record_level(e.meta) for e in titles_suite().expectations
    }
    assert levels[("expect_column_values_to_be_unique", "asset_key")] is False
    assert levels[("expect_column_values_to_not_be_null", "asset_key")] is False
    assert levels[("expect_column_values_to_not_be_null", "title")] is True
    assert levels[("expect_column_values_to_be_between", "runtime_minutes")] is True


RECORD, TABLE = "record", "table"


@pytest.mark.parametrize(
    ("change", "expected", "level"),
    [
        pytest.param(
            "update {t} set asset_key = 'acme:m1'",
            "expect_column_values_to_be_unique(asset_key)",
            TABLE,
            id="duplicate_key",
        ),
        pytest.param(
            "update {t} set asset_key = null where asset_key = 'acme:e1'",
            "expect_column_values_to_not_be_null(asset_key)",
            TABLE,
            id="missing_key",
        ),
        pytest.param(
            "update {t} set title = null where asset_key = 'acme:e1'",
            "expect_column_values_to_not_be_null(title)",
            RECORD,
            id="missing_title",
        ),
        pytest.param(
            "update {t} set release_year = 1700 where asset_key = 'acme:m1'",
            "expect_column_values_to_be_between(release_year)",
            RECORD,
            id="release_year",
        ),
        pytest.param(
            "update {t} set eidr_id = lower(eidr_id) where asset_key = 'acme:m1'",
            "expect_column_values_to_match_regex(eidr_id)",
            RECORD,
            id="eidr_not_canonical",
        ),
        pytest.param(
            "update {t} set eidr_id = null where asset_key = 'acme:m1'",
            "unexpected_rows_expectation",
            RECORD,
            id="valid_without_eidr",
        ),
        pytest.param(
            "update {t} set eidr_status = 'unknown' where asset_key = 'acme:m1'",
            "expect_column_values_to_be_in_set(eidr_status)",
            RECORD,
            id="eidr_status",
        ),
        pytest.param(
            "update {t} set asset_type = 'short' where asset_key = 'acme:m1'",
            "expect_column_values_to_be_in_set(asset_type)",
            RECORD,
            id="asset_type",
        ),
        pytest.param(
            "update {t} set licensing_window_end = licensing_window_start - interval '1 day'"
            " where asset_key = 'acme:m1'",
            "expect_column_pair_values_a_to_be_greater_than_b(licensing_window_end, licensing_window_start)",
            RECORD,
            id="licensing_window",
        ),
    ],
)
def test_each_titles_rule_catches_its_violation_at_its_level(
    warehouse: psycopg2.extensions.connection,
    warehouse_dsn: str,
    marts: str,
    tmp_path: Path,
    change: str,
    expected: str,
    level: str,
) -> None:
    execute(warehouse, change.format(t=f"{marts}.titles"))

    result = audit(warehouse_dsn, marts, ["titles"], tmp_path)

    if level == TABLE:
        assert not result.success
        assert len(result.failures) == 1, result.failures
        assert result.failures[0].startswith("titles: ")
        assert expected in result.failures[0]
    else:
        assert result.success, result.failures
        quarantined = open_quarantine(warehouse, marts)
        assert [rule for *_, rule, _ in quarantined] == [expected], quarantined
        assert [entry.rule for entry in result.quarantined] == [expected]
