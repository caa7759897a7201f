"""The dbt project matches the provider configs: each provider has staging models and feeds the shared marts."""

from __future__ import annotations

from pathlib import Path

import yaml

from media_platform.config.provider import load_provider_configs

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DBT_DIR = PROJECT_ROOT / "include" / "dbt"


def _vars() -> dict:
    return yaml.safe_load((DBT_DIR / "dbt_project.yml").read_text())["vars"]


def test_every_provider_has_a_staging_folder_with_documented_models() -> None:
    configs = load_provider_configs(PROJECT_ROOT / "include" / "providers").configs
    assert configs
    for config in configs:
        folder = DBT_DIR / "models" / "staging" / config.provider_id
        models = sorted(path.stem for path in folder.glob("stg_*.sql"))
        assert models, f"{folder} has no staging models for provider {config.provider_id}"
        assert all(model.startswith(f"stg_{config.provider_id}__") for model in models)
        documented = yaml.safe_load((folder / f"_{config.provider_id}__models.yml").read_text())
        assert {model["name"] for model in documented["models"]} == set(models)


def test_every_staging_model_feeds_the_marts() -> None:
    staging = DBT_DIR / "models" / "staging"
    for kind in ("titles", "avails"):
        providers = set(_vars()[f"{kind}_providers" if kind == "avails" else "title_providers"])
        assert {path.parent.name for path in staging.glob(f"*/stg_*__{kind}.sql")} == providers, kind
