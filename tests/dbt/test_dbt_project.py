"""The dbt project's layout: staging per delivery format with the provider as a column, nothing listed by hand."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from media_platform.config.provider import load_provider_configs

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DBT_DIR = PROJECT_ROOT / "include" / "dbt"
STAGING = DBT_DIR / "models" / "staging"


def _models(manifest: dict[str, Any], layer: str | None = None) -> list[dict[str, Any]]:
    return [
        node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and (layer is None or node["fqn"][1] == layer)
    ]


def _selected_by_tag(manifest: dict[str, Any], tag: str) -> list[str]:
    nodes = [*manifest["nodes"].values(), *manifest["sources"].values()]
    return [node["unique_id"] for node in nodes if tag in node["config"].get("tags", [])]


def test_staging_is_one_folder_per_format_with_its_sources_models_and_docs(manifest: dict[str, Any]) -> None:
    staging = _models(manifest, "staging")
    assert staging
    for node in staging:
        path = Path(node["original_file_path"])
        folder = path.parent.name
        assert path.parent.parent == Path("models/staging"), path
        assert path.stem.startswith(f"stg_{folder}__"), f"{path}: expected stg_{folder}__<entities>.sql"
        assert node["patch_path"] == f"media_platform://models/staging/{folder}/_{folder}__models.yml", path
        assert (STAGING / folder / f"_{folder}__sources.yml").exists(), folder
        assert "provider_id" in node["columns"], f"{node['name']}: the provider is a column"
        assert any(tag.startswith("format_") for tag in node["config"]["tags"]), f"{node['name']}: no format_ tag"


def test_every_provider_format_selects_its_staging_slice(manifest: dict[str, Any]) -> None:
    configs = load_provider_configs(PROJECT_ROOT / "include" / "providers").configs
    assert configs
    for config in configs:
        selector = config.dbt_staging_selector
        assert selector.startswith("tag:")
        selected = _selected_by_tag(manifest, selector.removeprefix("tag:"))
        assert selected, f"{config.provider_id}: {selector} selects nothing in the dbt project"


def test_every_staging_model_is_read(manifest: dict[str, Any]) -> None:
    for node in _models(manifest, "staging"):
        assert manifest["child_map"][node["unique_id"]], f"{node['name']} is read by no model"
    unioned = manifest["nodes"]["model.media_platform.int_titles_unioned"]["depends_on"]["nodes"]
    titles = {node["unique_id"] for node in _models(manifest, "staging") if node["name"].endswith("__titles")}
    assert set(unioned) == titles


def test_every_model_and_column_is_described(manifest: dict[str, Any]) -> None:
    for node in _models(manifest):
        assert node["description"].strip(), f"{node['name']} has no description"
        assert node["columns"], f"{node['name']} documents no columns"
        for name, column in node["columns"].items():
            assert column["description"].strip(), f"{node['name']}.{name} has no description"


def test_no_provider_lists_and_no_missing_paths() -> None:
    project = yaml.safe_load((DBT_DIR / "dbt_project.yml").read_text())
    listed = {"providers", "provider_id"} & set(project.get("vars") or {})
    assert not listed, "providers are derived, not listed in dbt_project.yml vars"
    for key in ("model-paths", "macro-paths", "test-paths", "seed-paths", "analysis-paths", "snapshot-paths"):
        for folder in project.get(key, []):
            assert (DBT_DIR / folder).is_dir(), f"{key}: {folder} does not exist"
