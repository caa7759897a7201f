"""Reading a column's accepted values from the manifest: a literal list, or a project var the YAML names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from media_platform.config.dbt_manifest import accepted_values, project_vars


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
