"""Fixtures for the ingest tests: the public ADI samples and a runner for the real `python -m ingest` CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PUBLIC_ADI = PROJECT_ROOT / "tests" / "fixtures" / "public" / "adi"


@dataclass(frozen=True)
class CliResult:
    """A finished CLI run: exit code, output, and the JSON summary when the last stdout line is one."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def summary(self) -> dict[str, Any]:
        return json.loads(self.stdout.strip().splitlines()[-1])


def run_cli(args: list[str], env: dict[str, str], unset: tuple[str, ...] = ()) -> CliResult:
    """Run `python -m ingest ARGS` as a subprocess, as the pod does: only include/ on the path, settings by env."""
    full_env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "include"), **env}
    for name in unset:
        full_env.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-m", "ingest", *args],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return CliResult(done.returncode, done.stdout, done.stderr)


@pytest.fixture()
def conn(warehouse_dsn: str) -> Iterator[Any]:
    """A warehouse connection with the raw schema and every format's table in place; closed afterwards."""
    from ingest.load import warehouse

    connection = warehouse.connect(warehouse_dsn)
    warehouse.ensure_tables(connection)
    yield connection
    connection.close()


@pytest.fixture(scope="session")
def public_adi() -> Path:
    """Folder of the public ADI 1.1 samples (see PROVENANCE.md there)."""
    return PUBLIC_ADI


@pytest.fixture(scope="session")
def cli() -> Any:
    """The `run_cli` function, as a fixture so test modules need not import conftest."""
    return run_cli
