"""The data contract of the published marts: one Great Expectations suite per table, built as a plain value.

Every expectation is either record-level or table-level, and this module is the one place that says which:
an expectation wrapped in `record(...)` is one a single row breaks on its own (a null where a value is required,
a value outside its range, set or pattern, an inverted window, a row inconsistent with itself), so the audit
quarantines the rows that break it and publishes the rest. Every other expectation is table-level (the key is
present and unique, counts reconcile): it blocks the whole publish.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from media_platform.config.dbt_manifest import accepted_values, load_manifest, project_vars
from media_platform.config.settings import PlatformSettings

if TYPE_CHECKING:
    from great_expectations import ExpectationSuite
    from great_expectations.expectations import Expectation

EIDR_PATTERN = r"^10\.5240/([0-9A-F]{4}-){5}[0-9A-Z]$"
LEVEL = "level"  # the expectation meta key that marks a record-level rule
RECORD_LEVEL = "record"


def record(expectation: Expectation) -> Expectation:
    """Mark an expectation record-level: the rows breaking it are quarantined instead of blocking the publish."""
    expectation.meta = {**(expectation.meta or {}), LEVEL: RECORD_LEVEL}
    return expectation


def is_record_level(meta: Mapping[str, Any] | None) -> bool:
    """Whether an expectation (by its meta) is record-level; everything not marked so is table-level."""
    return (meta or {}).get(LEVEL) == RECORD_LEVEL


def dbt_accepted_values(model: str, column: str, manifest_path: Path | None = None) -> list[str]:
    """The values dbt's accepted_values test of `model.column` allows, read from the prebuilt manifest (default: the
    settings' one): a value set is named once, in the dbt project, and the suites check the same."""
    settings = PlatformSettings.from_env()
    manifest = load_manifest(manifest_path or settings.dbt_manifest_path)
    return list(accepted_values(manifest, model, column, project_vars(settings.dbt_project_dir)))


def titles_suite(manifest_path: Path | None = None) -> ExpectationSuite:
    """Contract of `titles`: keys, required fields, plausible ranges, canonical EIDR ids and licensing windows."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    required = ("provider_id", "provider_asset_id", "title", "eidr_status")
    return gx.ExpectationSuite(
        name="titles",
        expectations=[
            gxe.ExpectColumnValuesToNotBeNull(column="asset_key"),
            gxe.ExpectColumnValuesToBeUnique(column="asset_key"),
            *(record(gxe.ExpectColumnValuesToNotBeNull(column=column)) for column in required),
            record(gxe.ExpectColumnValuesToBeBetween(column="runtime_minutes", min_value=1, max_value=600)),
            record(gxe.ExpectColumnValuesToBeBetween(column="release_year", min_value=1888, max_value=2100)),
            record(gxe.ExpectColumnValuesToMatchRegex(column="eidr_id", regex=EIDR_PATTERN)),
            *(
                record(
                    gxe.ExpectColumnValuesToBeInSet(
                        column=column, value_set=dbt_accepted_values("titles", column, manifest_path)
                    )
                )
                for column in ("eidr_status", "asset_type")
            ),
            record(
                gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                    column_A="licensing_window_end",
                    column_B="licensing_window_start",
                    or_equal=True,
                    ignore_row_if="either_value_is_missing",
                )
            ),
            record(
                gxe.UnexpectedRowsExpectation(
                    description="eidr_id is set whenever eidr_status is 'valid'",
                    unexpected_rows_query="select * from {batch} where eidr_status = 'valid' and eidr_id is null",
                )
            ),
        ],
    )


def provider_deliveries_suite() -> ExpectationSuite:
    """Contract of `provider_deliveries`: one row per batch, and every record read is either loaded or quarantined
    (a broken reconciliation is table-level: it blocks the publish)."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    return gx.ExpectationSuite(
        name="provider_deliveries",
        expectations=[
            gxe.ExpectColumnValuesToNotBeNull(column="batch_id"),
            gxe.ExpectColumnValuesToBeUnique(column="batch_id"),
            gxe.UnexpectedRowsExpectation(
                description="records_read = records_loaded + records_quarantined",
                unexpected_rows_query=(
                    "select batch_id, records_read, records_loaded, records_quarantined from {batch}"
                    " where records_read is distinct from records_loaded + records_quarantined"
                ),
            ),
        ],
    )


def availability_windows_suite(manifest_path: Path | None = None) -> ExpectationSuite:
    """Contract of `availability_windows`: one row per window, ISO territories, windows that end after they start."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    return gx.ExpectationSuite(
        name="availability_windows",
        expectations=[
            gxe.ExpectColumnValuesToNotBeNull(column="window_key"),
            gxe.ExpectColumnValuesToBeUnique(column="window_key"),
            record(gxe.ExpectColumnValuesToMatchRegex(column="territory", regex=r"^[A-Z]{2}$")),
            record(gxe.ExpectColumnValuesToMatchRegex(column="eidr_id", regex=EIDR_PATTERN)),
            record(
                gxe.ExpectColumnValuesToBeInSet(
                    column="eidr_status",
                    value_set=dbt_accepted_values("availability_windows", "eidr_status", manifest_path),
                )
            ),
            record(
                gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                    column_A="window_end", column_B="window_start", ignore_row_if="either_value_is_missing"
                )
            ),
        ],
    )


def eidr_mapping_suite(manifest_path: Path | None = None) -> ExpectationSuite:
    """Contract of `eidr_mapping`: one decision per asset, canonical IDs, known methods and bands."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    return gx.ExpectationSuite(
        name="eidr_mapping",
        expectations=[
            gxe.ExpectColumnValuesToNotBeNull(column="asset_key"),
            gxe.ExpectColumnValuesToBeUnique(column="asset_key"),
            record(gxe.ExpectColumnValuesToMatchRegex(column="eidr_id", regex=EIDR_PATTERN)),
            *(
                record(
                    gxe.ExpectColumnValuesToBeInSet(
                        column=column, value_set=dbt_accepted_values("eidr_mapping", column, manifest_path)
                    )
                )
                for column in ("method", "band")
            ),
            record(gxe.ExpectColumnValuesToBeBetween(column="score", min_value=0, max_value=1)),
            record(
                gxe.UnexpectedRowsExpectation(
                    description="an automatic band other than review/reject always carries an EIDR ID",
                    unexpected_rows_query=(
                        "select * from {batch} where band in ('provided', 'auto_accept') and eidr_id is null"
                    ),
                )
            ),
        ],
    )


def eidr_review_queue_suite() -> ExpectationSuite:
    """Contract of `eidr_review_queue`: one row per asset waiting for a person."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    return gx.ExpectationSuite(
        name="eidr_review_queue",
        expectations=[
            gxe.ExpectColumnValuesToNotBeNull(column="asset_key"),
            gxe.ExpectColumnValuesToBeUnique(column="asset_key"),
            record(gxe.ExpectColumnValuesToMatchRegex(column="top_candidate_eidr_id", regex=EIDR_PATTERN)),
        ],
    )


def eidr_coverage_suite() -> ExpectationSuite:
    """Contract of `eidr_coverage`: counts that add up (table-level) and shares between 0 and 1."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    return gx.ExpectationSuite(
        name="eidr_coverage",
        expectations=[
            record(gxe.ExpectColumnValuesToBeBetween(column="share_mapped", min_value=0, max_value=1)),
            record(gxe.ExpectColumnValuesToBeBetween(column="share_in_review", min_value=0, max_value=1)),
            gxe.UnexpectedRowsExpectation(
                description="mapped + in_review + unmatched = assets",
                unexpected_rows_query="select * from {batch} where mapped + in_review + unmatched <> assets",
            ),
        ],
    )


SUITE_BUILDERS: dict[str, Callable[[], ExpectationSuite]] = {
    "eidr_mapping": eidr_mapping_suite,
    "eidr_review_queue": eidr_review_queue_suite,
    "eidr_coverage": eidr_coverage_suite,
    "titles": titles_suite,
    "provider_deliveries": provider_deliveries_suite,
    "availability_windows": availability_windows_suite,
}
