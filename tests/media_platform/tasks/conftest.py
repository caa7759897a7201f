"""Fixtures of the task tests: environment settings back at their defaults, the demo provider's config."""

from __future__ import annotations

import pytest
from ingest_cases import PROJECT_ROOT, SETTINGS

from media_platform.config.provider import ProviderConfig, load_provider_config


@pytest.fixture(autouse=True)
def clean_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts from the defaults, whatever the developer's shell exports."""
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture()
def config() -> ProviderConfig:
    return load_provider_config(PROJECT_ROOT / "include" / "providers" / "demo_adi.yaml")
