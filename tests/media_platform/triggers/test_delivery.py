"""A watched provider's delivery asset carries a drop-folder watcher built from its YAML; only local folders watch."""

from __future__ import annotations

from pathlib import Path

import pytest

from media_platform.config.provider import ProviderConfigError, load_provider_config
from media_platform.triggers.delivery import delivery_asset
from media_platform.triggers.drop_folder import CLASSPATH, DropFolderTrigger

PROVIDERS_DIR = Path(__file__).resolve().parents[3] / "include" / "providers"


def provider_yaml(folder: Path, name: str, source_lines: str) -> Path:
    """demo_adi's YAML under another id, without its own watch setting, with `source_lines` added to its source."""
    text = (PROVIDERS_DIR / "demo_adi.yaml").read_text().replace("provider_id: demo_adi", f"provider_id: {name}")
    text = "".join(line for line in text.splitlines(keepends=True) if not line.startswith("  watch"))
    path = folder / f"{name}.yaml"
    path.write_text(text.replace("source:\n", f"source:\n{source_lines}", 1))
    return path


def test_watching_is_off_unless_the_yaml_asks_for_it(tmp_path: Path) -> None:
    assert load_provider_config(provider_yaml(tmp_path, "plain", "")).source.watch is False
    config = load_provider_config(provider_yaml(tmp_path, "acme", "  watch: true\n"))
    assert config.source.watch is True and config.source.watch_poll_seconds == 5.0


def test_the_watcher_watches_the_provider_location_with_its_own_rules(tmp_path: Path) -> None:
    config = load_provider_config(provider_yaml(tmp_path, "acme", "  watch: true\n  watch_poll_seconds: 2\n"))
    asset = delivery_asset(config)
    assert (asset.name, asset.uri, asset.group) == ("delivery_acme", "media-platform://delivery/acme", "delivery")
    [watcher] = asset.watchers
    assert isinstance(watcher.trigger, DropFolderTrigger)
    classpath, kwargs = watcher.trigger.serialize()
    assert classpath == CLASSPATH
    assert kwargs == {
        "provider_id": "acme",
        "location": "demo_adi",
        "file_glob": "*.xml",
        "date_in_path": "%Y-%m-%d",
        "pick_by": "path_date",
        "schedule": "0 0 * * *",
        "start_date": "2026-11-01",
        "poll_seconds": 2.0,
        "lookback_hours": 48,
        "refire_after_seconds": 2 * 3600,  # the YAML's deadline: by then the run should be done
        "warehouse_conn_id": "warehouse",
    }


def test_a_transport_without_a_watcher_is_refused_with_the_reason(tmp_path: Path) -> None:
    path = provider_yaml(tmp_path, "acme", "  watch: true\n")
    path.write_text(path.read_text().replace("transport: local", "transport: s3").replace(
        "location: demo_adi", "location: s3://bucket/acme"))  # fmt: skip
    with pytest.raises(ProviderConfigError, match=r"watch: transport s3 has no delivery watcher \(only local\)"):
        load_provider_config(path)


def test_a_poll_interval_below_a_second_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ProviderConfigError, match="source.watch_poll_seconds"):
        load_provider_config(provider_yaml(tmp_path, "acme", "  watch: true\n  watch_poll_seconds: 0.1\n"))
