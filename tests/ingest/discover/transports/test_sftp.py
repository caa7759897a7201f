"""SFTP transport against a real asyncssh SFTP server on 127.0.0.1: host keys, passwords, listing, a CLI run."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ingest.discover.files import files_for_interval
from ingest.discover.transports import open_location
from ingest.models import IngestError, UsageError

asyncssh = pytest.importorskip("asyncssh")

NOV_2 = datetime(2026, 11, 2, tzinfo=UTC)
DAY = timedelta(days=1)
USER, PASSWORD = "feed", "s3cret-pw"


@dataclass(frozen=True)
class SftpServer:
    """A running server: its chroot folder on disk, its port, and the env a pod would get."""

    root: Path
    port: int
    env: dict[str, str]

    def url(self, path: str) -> str:
        return f"sftp://127.0.0.1:{self.port}{path}"


class _Auth(asyncssh.SSHServer):
    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return (username, password) == (USER, PASSWORD)


@pytest.fixture(scope="module")
def sftp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SftpServer]:
    """An SFTP server (password login, chrooted to a temp folder) on its own event loop thread."""
    root = tmp_path_factory.mktemp("sftp_root")
    host_key = asyncssh.generate_private_key("ssh-ed25519")

    class Chrooted(asyncssh.SFTPServer):
        def __init__(self, chan: Any):
            super().__init__(chan, chroot=os.fsencode(root))

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="sftp-server", daemon=True)
    thread.start()

    async def listen() -> Any:
        return await asyncssh.listen(
            "127.0.0.1", 0, server_host_keys=[host_key], server_factory=_Auth, sftp_factory=Chrooted
        )

    acceptor = asyncio.run_coroutine_threadsafe(listen(), loop).result(timeout=15)
    port = acceptor.sockets[0].getsockname()[1]
    known_hosts = root.parent / f"{root.name}_known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{port} {host_key.export_public_key('openssh').decode().strip()}\n")
    env = {"MEDIA_SFTP_USERNAME": USER, "MEDIA_SFTP_PASSWORD": PASSWORD, "MEDIA_SFTP_KNOWN_HOSTS": str(known_hosts)}
    try:
        yield SftpServer(root, port, env)
    finally:
        asyncio.run_coroutine_threadsafe(_shutdown(acceptor), loop).result(timeout=15)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()


async def _shutdown(acceptor: Any) -> None:
    """Close the listener and every session still open (clients of earlier tests), quietly."""
    acceptor.close()
    await acceptor.wait_closed()
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _write(root: Path, relative: str, data: bytes, mtime: datetime) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (mtime.timestamp(), mtime.timestamp()))
    return path


@pytest.fixture(scope="module")
def deliveries(sftp: SftpServer, public_adi: Path) -> Path:
    """acme's drop folder on the server: two delivery days, a late file, and a symlink out of the drop."""
    adi = (public_adi / "HBO_ADI_OK.XML").read_bytes()
    drop = sftp.root / "drop" / "acme"
    _write(drop, "2026-11-01/one.xml", adi, NOV_2 - timedelta(hours=2))
    _write(drop, "2026-11-02/two.xml", adi, NOV_2 + timedelta(hours=3))
    _write(drop, "2026-11-02/late.xml", adi + b"<!-- late -->", NOV_2 + DAY + timedelta(hours=1))
    secret = _write(sftp.root, "private/secret.xml", b"<secret/>", NOV_2 + timedelta(hours=4))
    (drop / "2026-11-02" / "leak.xml").symlink_to(secret)
    link_time = (NOV_2 + timedelta(hours=5)).timestamp()  # an escaping link is picked by its own mtime
    os.utime(drop / "2026-11-02" / "leak.xml", (link_time, link_time), follow_symlinks=False)
    return drop


def test_path_date_lists_sizes_and_mtimes_and_rejects_a_symlink_out(sftp: SftpServer, deliveries: Path) -> None:
    location = open_location(sftp.url("/drop/acme"), sftp.env)
    files = files_for_interval(location, "*.xml", "%Y-%m-%d", NOV_2, NOV_2 + DAY)
    assert [(f.relative, f.rejected) for f in files] == [
        ("2026-11-02/late.xml", None),
        ("2026-11-02/leak.xml", "symlink points outside the drop location"),
        ("2026-11-02/two.xml", None),
    ]
    two = files[2]
    assert (two.size, two.modified_at) == (
        (deliveries / "2026-11-02/two.xml").stat().st_size,
        NOV_2 + timedelta(hours=3),
    )
    with two.opener() as handle:
        assert handle.read() == (deliveries / "2026-11-02/two.xml").read_bytes()


def test_modified_time_picks_by_the_server_mtime(sftp: SftpServer, deliveries: Path) -> None:
    location = open_location(sftp.url("/drop/acme/"), sftp.env)
    files = files_for_interval(location, "*.xml", "", NOV_2, NOV_2 + DAY, "modified_time")
    assert [(f.relative, f.rejected) for f in files] == [
        ("2026-11-02/leak.xml", "symlink points outside the drop location"),
        ("2026-11-02/two.xml", None),
    ]


def test_a_wrong_password_fails_without_showing_it(sftp: SftpServer, deliveries: Path) -> None:
    env = {**sftp.env, "MEDIA_SFTP_PASSWORD": "wrong-pw"}
    with pytest.raises(IngestError, match="SFTP authentication failed") as err:
        open_location(sftp.url("/drop/acme"), env)
    assert "wrong-pw" not in str(err.value)


def test_an_unknown_host_key_is_refused(sftp: SftpServer, tmp_path: Path) -> None:
    (tmp_path / "known_hosts").write_text("")
    env = {**sftp.env, "MEDIA_SFTP_KNOWN_HOSTS": str(tmp_path / "known_hosts")}
    with pytest.raises(IngestError, match=r"SFTP host key of \[127.0.0.1\]:\d+ is not in"):
        open_location(sftp.url("/drop/acme"), env)


def test_a_missing_folder_is_a_usage_error(sftp: SftpServer) -> None:
    location = open_location(sftp.url("/drop/nobody"), sftp.env)
    for pick_by in ("path_date", "modified_time"):
        with pytest.raises(UsageError, match=r"drop location not found: sftp://127.0.0.1:\d+/drop/nobody"):
            files_for_interval(location, "*.xml", "%Y-%m-%d", NOV_2, NOV_2 + DAY, pick_by)


def test_missing_credentials_are_a_usage_error(sftp: SftpServer) -> None:
    with pytest.raises(UsageError, match="MEDIA_SFTP_USERNAME and MEDIA_SFTP_PASSWORD or MEDIA_SFTP_KEY_FILE"):
        open_location(sftp.url("/drop/acme"), {})


def test_the_cli_loads_from_sftp_and_a_late_file_in_the_next_interval(
    sftp: SftpServer, deliveries: Path, warehouse_dsn: str, cli: Any, warehouse: Any
) -> None:
    env = {**sftp.env, "WAREHOUSE_DSN": warehouse_dsn}
    args = ["run", "--provider", "sftp_acme", "--format", "adi", "--location", sftp.url("/drop/acme")]
    args += ["--pick-by", "modified_time"]
    first = cli([*args, "--start", "2026-11-02T00:00:00+00:00", "--end", "2026-11-03T00:00:00+00:00"], env)
    assert first.returncode == 0, first.stderr
    assert (first.summary["records_loaded"], first.summary["records_quarantined"]) == (1, 1)
    assert PASSWORD not in first.stderr
    second = cli([*args, "--start", "2026-11-03T00:00:00+00:00", "--end", "2026-11-04T00:00:00+00:00"], env)
    assert second.returncode == 0, second.stderr
    assert (second.summary["files_read"], second.summary["records_loaded"]) == (1, 1)
    with warehouse.cursor() as cur:
        cur.execute(
            "select file_path, interval_start::date::text, checksum like 'sha256:%%' from raw.ingest_ledger"
            " where provider_id = 'sftp_acme' order by 1"
        )
        assert cur.fetchall() == [
            ("2026-11-02/late.xml", "2026-11-03", True),
            ("2026-11-02/two.xml", "2026-11-02", True),
        ]
