"""Every published mart follows the delta contract in its dbt config: incremental on its publish key, with a unique
index on that key and an index on changed_at, and tests that read only the rows a build changed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from media_platform.config.dbt_manifest import publish_keys


def test_every_published_mart_is_incremental_on_its_publish_key_with_a_unique_index(
    manifest_path: Path, manifest: dict[str, Any]
) -> None:
    for name, key in publish_keys(manifest_path).items():
        config = manifest["nodes"][f"model.media_platform.{name}"]["config"]
        assert config["materialized"] == "incremental", name
        assert tuple(config["unique_key"]) == key, f"{name}: unique_key {config['unique_key']} is not its publish key"
        indexes = [(tuple(index["columns"]), bool(index.get("unique"))) for index in config["indexes"]]
        assert (key, True) in indexes, f"{name}: no unique index on {key}"
        assert (("changed_at",), False) in indexes, f"{name}: no index on changed_at"


def test_every_published_mart_documents_the_delta_columns_and_tests_only_its_delta(
    manifest_path: Path, manifest: dict[str, Any]
) -> None:
    for name in publish_keys(manifest_path):
        node_id = f"model.media_platform.{name}"
        assert {"changed_at", "is_removed"} <= set(manifest["nodes"][node_id]["columns"]), name
        tests = [
            n for n in manifest["nodes"].values() if n["resource_type"] == "test" and n["attached_node"] == node_id
        ]
        assert tests, name
        for test in tests:
            assert "changed_at >=" in (test["config"]["where"] or ""), f"{test['name']} scans the whole mart"
            assert (test.get("test_metadata") or {}).get("name") != "unique", f"{test['name']}: the unique index is"
