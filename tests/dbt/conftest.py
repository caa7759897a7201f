"""dbt as the DAGs run it: a manifest parsed from the working tree, and dbt commands against the test warehouse."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DBT_DIR = PROJECT_ROOT / "include" / "dbt"
DBT = Path(sys.executable).parent / "dbt"


def dbt_command(target_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run dbt on the project with profiles.yml (the test warehouse, from the session's WAREHOUSE_* variables),
    writing its artifacts under target_path so the project's own target/ (the DAGs' manifest) is left alone."""
    command = [str(DBT), *args, "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR)]
    command += ["--target-path", str(target_path), "--log-path", str(target_path / "logs")]
    return subprocess.run(command, capture_output=True, text=True, check=False)


@pytest.fixture(scope="session")
def dbt_target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("dbt_target")


@pytest.fixture(scope="session")
def manifest_path(dbt_target: Path) -> Path:
    """manifest.json of the project as it is in the working tree (`dbt parse`), never a stale one."""
    result = dbt_command(dbt_target, "parse", "--quiet")
    assert result.returncode == 0, result.stdout + result.stderr
    return dbt_target / "manifest.json"


@pytest.fixture(scope="session")
def manifest(manifest_path: Path) -> dict[str, Any]:
    return json.loads(manifest_path.read_text())


@pytest.fixture(scope="session")
def run_dbt(dbt_target: Path, manifest_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """`run_dbt("run", "--select", ...)`: a dbt command against the test warehouse; asserts nothing."""

    def run(*args: str | Sequence[str]) -> subprocess.CompletedProcess[str]:
        return dbt_command(dbt_target, *(str(arg) for arg in args))

    return run
