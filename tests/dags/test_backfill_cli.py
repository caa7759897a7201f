"""Operators backfill with `airflow backfill create`: one run per data interval of the provider's schedule."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration


def airflow(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "airflow", *args], capture_output=True, text=True, env=os.environ.copy(), check=False
    )


def test_backfill_dry_run_plans_one_run_per_day(test_env: dict[str, str]) -> None:
    reserialized = airflow("dags", "reserialize")
    assert reserialized.returncode == 0, reserialized.stderr[-2000:]
    planned = airflow(
        "backfill", "create", "--dag-id", "ingest_demo_adi", "--from-date", "2026-11-10", "--to-date", "2026-11-12",
        "--dry-run",
    )  # fmt: skip
    assert planned.returncode == 0, planned.stderr[-2000:]
    dates = [line.split("|")[1].strip() for line in planned.stdout.splitlines() if line.startswith("| 2026-")]
    # Logical date = data interval start; both ends inclusive. (Days with a run already are skipped, so this range
    # avoids the days the end-to-end tests run.)
    assert dates == ["2026-11-10 00:00:00+00:00", "2026-11-11 00:00:00+00:00", "2026-11-12 00:00:00+00:00"]
