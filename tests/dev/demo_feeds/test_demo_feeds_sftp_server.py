"""The demo SFTP server as the demo starts it: a subprocess whose password comes from the environment."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

asyncssh = pytest.importorskip("asyncssh")

from demo_feeds.sftp_server import HOST, PASSWORD_ENV  # noqa: E402

DEV_DIR = Path(__file__).resolve().parents[3] / "dev"


def _start(tmp_path: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    command = [
        sys.executable, "-m", "demo_feeds.sftp_server", "--root", str(tmp_path / "root"), "--port", "0",
        "--host-key-file", str(tmp_path / "key"), "--known-hosts-out", str(tmp_path / "known_hosts"),
        "--username", "demo",
    ]  # fmt: skip
    inherited = {name: value for name, value in os.environ.items() if name != PASSWORD_ENV}
    full_env = {**inherited, "PYTHONPATH": str(DEV_DIR), **env}
    return subprocess.Popen(command, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # noqa: S603


async def _list_root(port: int, known_hosts: Path, password: str) -> list[str]:
    async with (
        asyncssh.connect(HOST, port, username="demo", password=password, known_hosts=str(known_hosts)) as conn,
        conn.start_sftp_client() as sftp,
    ):
        return sorted(set(await sftp.listdir("/")) - {".", ".."})


def test_a_password_starting_with_a_dash_is_served(tmp_path: Path) -> None:
    """secrets.token_urlsafe can start with "-"; as an argv value that was an argparse error (CI saw it once)."""
    password = "-leading-dash-secret"
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "offer.xml").write_text("<x/>")
    server = _start(tmp_path, {PASSWORD_ENV: password})
    try:
        deadline = time.monotonic() + 20
        while not (tmp_path / "known_hosts").is_file():
            assert server.poll() is None, server.stderr.read() if server.stderr else "exited"
            assert time.monotonic() < deadline, "the server never wrote its known_hosts"
            time.sleep(0.05)
        port = int((tmp_path / "known_hosts").read_text().split()[0].rsplit(":", 1)[1])
        assert asyncio.run(_list_root(port, tmp_path / "known_hosts", password)) == ["offer.xml"]
        assert password not in " ".join(server.args)  # the secret is not visible in `ps`
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_a_missing_password_names_the_variable(tmp_path: Path) -> None:
    server = _start(tmp_path, {})
    _, stderr = server.communicate(timeout=30)
    assert server.returncode == 2
    assert PASSWORD_ENV in stderr
