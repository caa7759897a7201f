"""Reading a column's accepted values from the manifest: a literal list, or a project var the YAML names."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from media_platform.config.dbt_manifest import (
    PublishKeyError,
    accepted_values,
    project_checksum,
    project_vars,
    publish_keys,
    published_marts,
)


def _manifest(values: Any) -> dict[str, Any]:
    model = {"resource_type": "model", "unique_id": "model.p.titles", "name": "titles"}
    test = {
        "resource_type": "test",
        "unique_id": "test.p.accepted_values_titles_asset_type",
        "attached_node": "model.p.titles",
        "column_name": "asset_type",
        "test_metadata": {"name": "accepted_values", "kwargs": {"column_name": "asset_type", "values": values}},
    }
    return {"nodes": {model["unique_id"]: model, test["unique_id"]: test}}


def test_a_literal_list_is_read_as_it_is() -> None:
    assert accepted_values(_manifest(["movie", "episode"]), "titles", "asset_type", {}) == ("movie", "episode")


def test_a_project_var_is_looked_up(tmp_path: Path) -> None:
    (tmp_path / "dbt_project.yml").write_text("name: p\nvars:\n  asset_types: [movie, other]\n")
    dbt_vars = project_vars(tmp_path)
    assert accepted_values(_manifest("{{ var('asset_types') }}"), "titles", "asset_type", dbt_vars) == (
        "movie",
        "other",
    )
    with pytest.raises(ValueError, match="titles.asset_type"):
        accepted_values(_manifest("{{ var('statuses') }}"), "titles", "asset_type", dbt_vars)


def test_a_column_without_the_test_is_named() -> None:
    with pytest.raises(LookupError, match="titles.eidr_status"):
        accepted_values(_manifest(["movie"]), "titles", "eidr_status", {})
    with pytest.raises(LookupError, match="episodes.asset_type"):
        accepted_values(_manifest(["movie"]), "episodes", "asset_type", {})


BUILT_MANIFEST = Path(__file__).resolve().parents[3] / "include" / "dbt" / "target" / "manifest.json"


def test_every_published_mart_has_its_publish_key_in_the_manifest() -> None:
    keys = publish_keys(BUILT_MANIFEST)

    assert tuple(keys) == published_marts(BUILT_MANIFEST)
    assert keys["titles"] == ("asset_key",)  # its unique test
    assert keys["eidr_coverage"] == ("provider_id", "day")  # declared: one row per provider and day


def _manifest_with(tmp_path: Path, mart: str, meta: dict[str, Any], unique: list[str]) -> Path:
    columns = {name: {"name": name} for name in ("asset_key", "provider_id", "day")}
    nodes: dict[str, Any] = {
        f"model.p.{mart}": {
            "resource_type": "model",
            "unique_id": f"model.p.{mart}",
            "name": mart,
            "columns": columns,
            "config": {"meta": {"publish": True, **meta}},
        }
    }
    for column in unique:
        nodes[f"test.p.unique_{mart}_{column}"] = {
            "resource_type": "test",
            "test_metadata": {"name": "unique", "namespace": None},
            "attached_node": f"model.p.{mart}",
            "column_name": column,
            "config": {"where": None},
        }
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"nodes": nodes}))
    return path


def test_a_declared_publish_key_wins_over_the_unique_tests(tmp_path: Path) -> None:
    manifest = _manifest_with(tmp_path, "coverage", {"publish_key": ["provider_id", "day"]}, ["asset_key"])
    assert publish_keys(manifest) == {"coverage": ("provider_id", "day")}


@pytest.mark.parametrize(
    ("meta", "unique", "named"),
    [
        ({}, [], "coverage: no column with a unique test"),
        ({}, ["asset_key", "provider_id"], r"coverage: several unique columns \['asset_key', 'provider_id'\]"),
        ({"publish_key": ["provider", "day"]}, [], r"coverage: .* does not list: \['provider'\]"),
        ({"publish_key": "day"}, [], "coverage: meta publish_key must be a non-empty list"),
    ],
)
def test_a_published_mart_without_a_clear_key_is_named(
    tmp_path: Path, meta: dict[str, Any], unique: list[str], named: str
) -> None:
    with pytest.raises(PublishKeyError, match=named):
        publish_keys(_manifest_with(tmp_path, "coverage", meta, unique))


def test_the_project_checksum_changes_with_a_model_a_macro_or_the_vars() -> None:
    manifest = json.loads(BUILT_MANIFEST.read_text())
    before = project_checksum(manifest, {"providers": ["a"]})
    assert project_checksum(json.loads(BUILT_MANIFEST.read_text()), {"providers": ["a"]}) == before
    assert project_checksum(manifest, {"providers": ["a", "b"]}) != before
    model = next(node for node in manifest["nodes"].values() if node["resource_type"] == "model")
    model["checksum"]["checksum"] = "edited"
    edited_model = project_checksum(manifest, {"providers": ["a"]})
    macro = next(iter(manifest["macros"].values()))
    macro["macro_sql"] += " "
    assert len({before, edited_model, project_checksum(manifest, {"providers": ["a"]})}) == 3
