"""Fixtures for the dev tools' tests: the real `python -m ingest` CLI, run as the pod runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class CliResult:
    """A finished CLI run: exit code, output, and the JSON summary when the last stdout line is one."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def summary(self) -> dict[str, Any]:
        return json.loads(self.stdout.strip().splitlines()[-1])


def run_cli(args: list[str], env: dict[str, str]) -> CliResult:
    """Run `python -m ingest ARGS` as a subprocess with only include/ on the path, as the pod does."""
    full_env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "include"), **env}
    done = subprocess.run(  # noqa: S603 - the project's own CLI
        [sys.executable, "-m", "ingest", *args], env=full_env, capture_output=True, text=True, timeout=120, check=False
    )
    return CliResult(done.returncode, done.stdout, done.stderr)


@pytest.fixture(scope="session")
def cli() -> Any:
    """The `run_cli` function, as a fixture so test modules need not import conftest."""
    return run_cli
