"""The demo titles API: real films spread over the days, and the server command the demo services start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import requests

from demo_feeds.api_server import demo_titles

TITLES = demo_titles(count=30, days=3)
ON_NOV_2 = [t for t in TITLES if "2026-11-02T" <= t["updated_at"] < "2026-11-03T"]
TOKEN = "t0k3n-for-tests"  # noqa: S105
DEV_DIR = Path(__file__).resolve().parents[3] / "dev"


def test_the_demo_titles_are_real_films_spread_over_the_days() -> None:
    assert demo_titles(count=30, days=3) == TITLES
    assert len(ON_NOV_2) == 10
    assert {"provider_asset_id", "title", "release_year", "runtime_minutes", "updated_at"} <= set(TITLES[0])


def test_the_server_command_prints_its_url() -> None:
    env = {**os.environ, "MEDIA_API_TOKEN": TOKEN, "PYTHONPATH": str(DEV_DIR)}
    command = [sys.executable, "-m", "demo_feeds.api_server", "--port", "0", "--count", "12"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1/titles")
        response = requests.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
        assert len(response.json()["items"]) == 12
        assert requests.get(url, timeout=10).status_code == 401
    finally:
        process.terminate()
        process.wait(timeout=10)
