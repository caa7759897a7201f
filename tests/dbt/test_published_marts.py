"""The published marts are the marts marked `meta: {publish: true}`: built, audited by a GX suite and published."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from media_platform.audit import suites
from media_platform.config.dbt_manifest import published_marts


def test_published_marts_are_read_from_the_manifest(manifest_path: Path, manifest: dict[str, Any]) -> None:
    marts = published_marts(manifest_path)
    assert marts == (
        "availability_windows", "eidr_coverage", "eidr_mapping", "eidr_review_queue", "provider_deliveries", "titles",
    )  # fmt: skip
    for name in marts:
        node = manifest["nodes"][f"model.media_platform.{name}"]
        assert node["fqn"][1] == "marts", f"{name}: publish_reporting builds path:models/marts"
        assert node["config"]["materialized"] in ("table", "incremental"), name


def test_every_published_mart_has_a_gx_suite_and_every_suite_a_published_mart(manifest_path: Path) -> None:
    marts = set(published_marts(manifest_path))
    without_suite = sorted(marts - set(suites.SUITE_BUILDERS))
    assert not without_suite, f"published marts without a GX suite in audit.suites.SUITE_BUILDERS: {without_suite}"
    without_mart = sorted(set(suites.SUITE_BUILDERS) - marts)
    assert not without_mart, f"GX suites without a published mart (meta: {{publish: true}}): {without_mart}"


def test_a_new_published_mart_without_a_suite_is_named(tmp_path: Path, manifest: dict[str, Any]) -> None:
    copy = json.loads(json.dumps(manifest))
    node = json.loads(json.dumps(copy["nodes"]["model.media_platform.provider_deliveries"]))
    node.update(unique_id="model.media_platform.rights_summary", name="rights_summary")
    copy["nodes"][node["unique_id"]] = node
    (tmp_path / "manifest.json").write_text(json.dumps(copy))
    with pytest.raises(AssertionError, match="rights_summary"):
        test_every_published_mart_has_a_gx_suite_and_every_suite_a_published_mart(tmp_path / "manifest.json")
