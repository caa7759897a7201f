"""A transport that drops the connection in the middle of a file (a real SFTP server, moto's S3 behind a proxy that
cuts the response): the run fails clearly or retries, loads nothing partial, and the rerun loads the file once."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

asyncssh = pytest.importorskip("asyncssh")
moto_server = pytest.importorskip("moto.server")
boto3 = pytest.importorskip("boto3")

USER, PASSWORD = "feed", "drop-test-pw"
BIG = "2026-11-02/big.xml"
SMALL = "2026-11-02/small.xml"
INTERVAL = ["--start", "2026-11-02T00:00:00+00:00", "--end", "2026-11-03T00:00:00+00:00"]
BUCKET = "drops"


@dataclass
class Drops:
    """How many more times the server cuts the connection in the middle of BIG, and how often it did."""

    left: int = 0
    done: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self) -> bool:
        with self.lock:
            if self.left <= 0:
                return False
            self.left -= 1
            self.done += 1
            return True


def _deliveries(public_adi: Path) -> dict[str, bytes]:
    """Two ADI packages of different assets; BIG is padded to a few hundred KiB, so it is read in many requests."""
    small = (public_adi / "HBO_ADI_OK.XML").read_bytes()
    big = (public_adi / "vod_metadata_reference.xml").read_bytes() + b"\n<!-- " + b"padding " * 40_000 + b"-->\n"
    return {SMALL: small, BIG: big}


def _loaded(warehouse: Any, provider_id: str) -> dict[str, Any]:
    """What the warehouse holds of a provider: batches, ledger entries per file, raw rows per file."""
    with warehouse.cursor() as cur:
        cur.execute("select count(*) from raw.ingest_batches where provider_id = %s", (provider_id,))
        batches = cur.fetchone()[0]
        cur.execute(
            "select file_path, count(*) from raw.ingest_ledger where provider_id = %s group by 1 order by 1",
            (provider_id,),
        )
        ledger = dict(cur.fetchall())
        cur.execute(
            "select source_file, count(*) from raw.adi_titles where provider_id = %s group by 1 order by 1",
            (provider_id,),
        )
        rows = dict(cur.fetchall())
    return {"batches": batches, "ledger": ledger, "rows": rows}


# --- SFTP: the server aborts the SSH connection when the client asks for BIG beyond its first block -------------


@dataclass(frozen=True)
class DroppingSftp:
    root: Path
    port: int
    env: dict[str, str]
    drops: Drops


@pytest.fixture(scope="module")
def dropping_sftp(tmp_path_factory: pytest.TempPathFactory, public_adi: Path) -> Iterator[DroppingSftp]:
    root = tmp_path_factory.mktemp("dropping_sftp")
    for relative, data in _deliveries(public_adi).items():
        (root / "acme" / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / "acme" / relative).write_bytes(data)
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    drops = Drops()

    class Auth(asyncssh.SSHServer):
        def begin_auth(self, username: str) -> bool:
            return True

        def password_auth_supported(self) -> bool:
            return True

        def validate_password(self, username: str, password: str) -> bool:
            return (username, password) == (USER, PASSWORD)

    class DropsMidFile(asyncssh.SFTPServer):
        def __init__(self, chan: Any):
            super().__init__(chan, chroot=os.fsencode(root))

        def read(self, file_obj: Any, offset: int, size: int) -> Any:
            if offset > 0 and os.fsdecode(file_obj.name).endswith(BIG) and drops.take():
                self.channel.get_connection().abort()  # the TCP connection goes, mid-transfer
                raise asyncssh.SFTPConnectionLost("dropped by the test server")
            return super().read(file_obj, offset, size)

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="dropping-sftp", daemon=True)
    thread.start()

    async def listen() -> Any:
        return await asyncssh.listen(
            "127.0.0.1", 0, server_host_keys=[host_key], server_factory=Auth, sftp_factory=DropsMidFile
        )

    acceptor = asyncio.run_coroutine_threadsafe(listen(), loop).result(timeout=15)
    port = acceptor.sockets[0].getsockname()[1]
    known_hosts = root.parent / f"{root.name}_known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{port} {host_key.export_public_key('openssh').decode().strip()}\n")
    env = {"MEDIA_SFTP_USERNAME": USER, "MEDIA_SFTP_PASSWORD": PASSWORD, "MEDIA_SFTP_KNOWN_HOSTS": str(known_hosts)}
    try:
        yield DroppingSftp(root, port, env, drops)
    finally:

        async def shutdown() -> None:
            acceptor.close()
            await acceptor.wait_closed()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(timeout=15)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()


def test_sftp_dropped_mid_file_fails_the_run_and_the_rerun_loads_it_once(
    dropping_sftp: DroppingSftp, warehouse_dsn: str, warehouse: Any, cli: Any
) -> None:
    provider = "sftp_drop"
    args = ["run", "--provider", provider, "--format", "adi", "--location",
            f"sftp://127.0.0.1:{dropping_sftp.port}/acme", *INTERVAL]  # fmt: skip
    env = {**dropping_sftp.env, "WAREHOUSE_DSN": warehouse_dsn}
    dropping_sftp.drops.left = 1
    dropped = cli(args, env)
    assert dropping_sftp.drops.done == 1
    assert dropped.returncode != 0, dropped.stdout
    assert f"cannot read {BIG}" in dropped.stderr and "connection" in dropped.stderr
    assert "nothing of this batch was loaded" in dropped.stderr
    assert PASSWORD not in dropped.stderr
    assert _loaded(warehouse, provider) == {"batches": 0, "ledger": {}, "rows": {}}

    rerun = cli(args, env)
    assert rerun.returncode == 0, rerun.stderr
    assert (rerun.summary["files_read"], rerun.summary["records_loaded"]) == (2, 2)
    assert _loaded(warehouse, provider) == {"batches": 1, "ledger": {BIG: 1, SMALL: 1}, "rows": {BIG: 1, SMALL: 1}}


# --- S3: moto behind a TCP proxy that cuts the GET response of BIG after its first bytes ------------------------


class CuttingProxy:
    """Forwards 127.0.0.1:port to a server; while `drops` allow, a GET of a path containing `path_part` has its
    response cut (the connection reset) after `after_bytes` bytes."""

    def __init__(self, target_port: int, path_part: bytes, after_bytes: int, drops: Drops):
        self.target_port, self.path_part, self.after_bytes, self.drops = target_port, path_part, after_bytes, drops
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, name="cutting-proxy", daemon=True).start()

    def close(self) -> None:
        self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            state = {"cut": False, "sent": 0}
            threading.Thread(target=self._requests, args=(client, upstream, state), daemon=True).start()
            threading.Thread(target=self._responses, args=(upstream, client, state), daemon=True).start()

    def _requests(self, client: socket.socket, upstream: socket.socket, state: dict) -> None:
        try:
            while data := client.recv(65536):
                first_line = data.split(b"\r\n", 1)[0]
                if first_line.startswith(b"GET ") and self.path_part in first_line and self.drops.take():
                    state.update(cut=True, sent=0)
                upstream.sendall(data)
        except OSError:
            pass
        finally:
            _close(client, upstream)

    def _responses(self, upstream: socket.socket, client: socket.socket, state: dict) -> None:
        try:
            while data := upstream.recv(65536):
                if state["cut"] and state["sent"] + len(data) > self.after_bytes:
                    client.sendall(data[: self.after_bytes - state["sent"]])
                    break  # the connection is closed mid-body
                state["sent"] += len(data)
                client.sendall(data)
        except OSError:
            pass
        finally:
            _close(client, upstream)


def _close(*sockets: socket.socket) -> None:
    """Shut down first: a close alone leaves the connection open while the other thread is blocked reading it."""
    for sock in sockets:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            sock.close()


@dataclass(frozen=True)
class CutS3:
    env: dict[str, str]
    drops: Drops


@pytest.fixture(scope="module")
def cut_s3(public_adi: Path) -> Iterator[CutS3]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    drops = Drops()
    proxy = CuttingProxy(port, BIG.rsplit("/", 1)[1].encode(), 2_000, drops)
    client = boto3.client(
        "s3", endpoint_url=f"http://127.0.0.1:{port}", aws_access_key_id="testing",
        aws_secret_access_key="testing", region_name="us-east-1",
    )  # fmt: skip
    client.create_bucket(Bucket=BUCKET)
    for relative, data in _deliveries(public_adi).items():
        client.put_object(Bucket=BUCKET, Key=f"acme/{relative}", Body=data)
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "drop-test-secret",  # moto accepts any; this one must never show
        "AWS_DEFAULT_REGION": "us-east-1",
        "MEDIA_S3_ENDPOINT_URL": f"http://127.0.0.1:{proxy.port}",
    }
    try:
        yield CutS3(env, drops)
    finally:
        proxy.close()
        server.stop()


def _s3_args(provider: str) -> list[str]:
    return ["run", "--provider", provider, "--format", "adi", "--location", f"s3://{BUCKET}/acme", *INTERVAL]


def test_s3_cut_once_mid_file_is_retried_and_loaded_once(
    cut_s3: CutS3, warehouse_dsn: str, warehouse: Any, cli: Any
) -> None:
    cut_s3.drops.left, cut_s3.drops.done = 1, 0
    done = cli(_s3_args("s3_cut_once"), {**cut_s3.env, "WAREHOUSE_DSN": warehouse_dsn})
    assert cut_s3.drops.done == 1
    assert done.returncode == 0, done.stderr
    assert (done.summary["files_read"], done.summary["records_loaded"]) == (2, 2)
    assert _loaded(warehouse, "s3_cut_once") == {"batches": 1, "ledger": {BIG: 1, SMALL: 1}, "rows": {BIG: 1, SMALL: 1}}


def test_s3_cut_every_time_fails_the_run_and_the_rerun_loads_it_once(
    cut_s3: CutS3, warehouse_dsn: str, warehouse: Any, cli: Any
) -> None:
    env = {**cut_s3.env, "WAREHOUSE_DSN": warehouse_dsn}
    cut_s3.drops.left, cut_s3.drops.done = 1_000, 0
    dropped = cli(_s3_args("s3_cut"), env)
    assert cut_s3.drops.done > 1  # retried before giving up
    assert dropped.returncode != 0, dropped.stdout
    assert f"cannot read {BIG}" in dropped.stderr and "nothing of this batch was loaded" in dropped.stderr
    assert "drop-test-secret" not in dropped.stderr
    assert _loaded(warehouse, "s3_cut") == {"batches": 0, "ledger": {}, "rows": {}}

    cut_s3.drops.left = 0
    rerun = cli(_s3_args("s3_cut"), env)
    assert rerun.returncode == 0, rerun.stderr
    assert _loaded(warehouse, "s3_cut") == {"batches": 1, "ledger": {BIG: 1, SMALL: 1}, "rows": {BIG: 1, SMALL: 1}}
