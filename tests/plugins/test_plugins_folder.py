"""plugins/ as Airflow's plugin manager sees it: media_platform is ignored, so none of its files runs as a plugin."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PLUGINS_DIR = PROJECT_ROOT / "plugins"
PACKAGE_DIR = PLUGINS_DIR / "media_platform"

# Loads plugins in a fresh interpreter the way the scheduler, API server, workers and `airflow plugins` do, then
# reports every loaded module whose file is inside the package, the plugins found and the plugin import errors.
_LOAD_PLUGINS = """
import json, sys
from pathlib import Path
from airflow import plugins_manager

package = Path(sys.argv[1]).resolve()
plugins_manager.ensure_plugins_loaded()
from_package = {}
for name, module in list(sys.modules.items()):
    path = getattr(module, "__file__", None)
    if path and Path(path).resolve().is_relative_to(package):
        from_package[name] = str(Path(path).resolve().relative_to(package))
print(json.dumps({
    "from_package": from_package,
    "sources": [str(info["source"]) for info in plugins_manager.get_plugin_info(attrs_to_dump=["source"])],
    "errors": sorted(plugins_manager.get_import_errors()),
}))
"""


def _load_plugins(plugins_folder: Path, ignore_file_syntax: str = "glob") -> dict:
    env = {
        **os.environ,
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(plugins_folder),
        "AIRFLOW__CORE__DAG_IGNORE_FILE_SYNTAX": ignore_file_syntax,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
    done = subprocess.run(
        [sys.executable, "-c", _LOAD_PLUGINS, str(PACKAGE_DIR)], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _top_level(from_package: dict[str, str]) -> dict[str, str]:
    """Package files loaded under a name of their own (`settings` for config/settings.py): as a plugin module."""
    return {name: path for name, path in from_package.items() if name.split(".")[0] != "media_platform"}


@pytest.mark.parametrize("ignore_file_syntax", ["glob", "regexp"])
def test_plugin_manager_leaves_the_package_alone(ignore_file_syntax: str) -> None:
    loaded = _load_plugins(PLUGINS_DIR, ignore_file_syntax)
    assert _top_level(loaded["from_package"]) == {}
    assert not [source for source in loaded["sources"] if source.startswith("$PLUGINS_FOLDER/media_platform/")]
    assert not [path for path in loaded["errors"] if Path(path).resolve().is_relative_to(PACKAGE_DIR)]
    assert "$PLUGINS_FOLDER/media_platform_ui.py" in loaded["sources"]  # the real plugin, a top-level file
    assert loaded["errors"] == []


def test_without_the_ignore_file_the_package_would_run_as_plugins(tmp_path: Path) -> None:
    """The check above can fail: a plugins folder holding the package but no .airflowignore imports its files."""
    (tmp_path / "media_platform").symlink_to(PACKAGE_DIR, target_is_directory=True)
    top_level = _top_level(_load_plugins(tmp_path)["from_package"])
    assert top_level.get("registry") == str(Path("dag_factory") / "registry.py")
    assert top_level.get("provider") == str(Path("config") / "provider.py")
