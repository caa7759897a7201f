"""Asset types and EIDR statuses are listed once, as dbt project vars; everything else reads them or is held to them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ingest.eidr import EidrStatus
from media_platform.audit import suites
from media_platform.config.dbt_manifest import project_vars

DBT_DIR = Path(__file__).resolve().parents[2] / "include" / "dbt"
# The column each shared list is for.
SHARED_LISTS = {"asset_type": "asset_types", "eidr_status": "eidr_statuses"}
_MACRO = "macro.media_platform.canonical_asset_type"


def _accepted_values_tests(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "test" and (node.get("test_metadata") or {}).get("name") == "accepted_values"
    ]


def test_the_eidr_statuses_are_what_ingest_writes() -> None:
    assert set(project_vars(DBT_DIR)["eidr_statuses"]) == {status.value for status in EidrStatus}


def test_every_asset_type_and_eidr_status_test_reads_the_project_var(manifest: dict[str, Any]) -> None:
    tested = set()
    for node in _accepted_values_tests(manifest):
        column = node["column_name"]
        if column in SHARED_LISTS:
            values = node["test_metadata"]["kwargs"]["values"]
            assert values == f"{{{{ var('{SHARED_LISTS[column]}') }}}}", f"{node['original_file_path']}: {column}"
            tested.add((node["attached_node"].rsplit(".", 1)[1], column))
    assert {("titles", "asset_type"), ("titles", "eidr_status"), ("availability_windows", "eidr_status")} <= tested


def test_canonical_asset_type_produces_only_asset_types() -> None:
    macro = (DBT_DIR / "macros" / "canonical_asset_type.sql").read_text()
    produced = set(re.findall(r"\b(?:then|else)\s+'([^']*)'", macro))
    assert "other" in produced, "the macro's else branch was not read"
    assert produced <= set(project_vars(DBT_DIR)["asset_types"])


def test_every_staging_asset_type_comes_from_canonical_asset_type(manifest: dict[str, Any]) -> None:
    staging = [
        node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["fqn"][1] == "staging" and "asset_type" in node["columns"]
    ]
    assert staging
    for node in staging:
        assert _MACRO in node["depends_on"]["macros"], f"{node['name']}: asset_type not from canonical_asset_type"


def test_the_gx_suites_check_the_values_dbt_tests(manifest_path: Path) -> None:
    dbt_vars = project_vars(DBT_DIR)
    in_set = {
        (suite.name, expectation.column): expectation.value_set
        for suite in (
            suites.titles_suite(manifest_path),
            suites.availability_windows_suite(manifest_path),
            suites.eidr_mapping_suite(manifest_path),
        )
        for expectation in suite.expectations
        if expectation.expectation_type == "expect_column_values_to_be_in_set"
    }
    assert in_set == {
        ("titles", "asset_type"): dbt_vars["asset_types"],
        ("titles", "eidr_status"): dbt_vars["eidr_statuses"],
        ("availability_windows", "eidr_status"): dbt_vars["eidr_statuses"],
        ("eidr_mapping", "method"): ["provided", "matched", "override", "none"],
        ("eidr_mapping", "band"): ["provided", "auto_accept", "review", "reject", "override"],
    }
