"""The demo's remote sources on 127.0.0.1: an S3 store (moto), an SFTP drop and a titles API, filled with deliveries.

`demo_services(...)` starts them as subprocesses (on the fixed ports the demo provider YAMLs name, or on the ports
given, e.g. free ones for tests), writes each demo provider's deliveries, yields the `AIRFLOW_CONN_*` variables that
point the provider DAGs at them, and stops them all on exit. `write_provider_configs` copies the provider YAMLs with
the locations moved to other ports.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

# The servers run `python -m demo_feeds.<server>`, which imports the ingest package too.
SERVER_PYTHONPATH = tuple(str(Path(__file__).resolve().parents[2] / sub) for sub in ("dev", "include"))

HOST = "127.0.0.1"
S3_PORT = 18900
SFTP_PORT = 18922
API_PORT = 18980
START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 10.0

MEC_BUCKET = "demo-mec-drop"
MEC_PREFIX = "deliveries"
AVAILS_FOLDER = "avails"
API_TITLES_PATH = "/v1/titles"  # demo_feeds.api_server.TITLES_PATH
DEMO_MEC_LOCATION = f"s3://{MEC_BUCKET}/{MEC_PREFIX}"

MEC_CONN_ID = "demo_mec_s3"
AVAILS_CONN_ID = "demo_avails_sftp"
API_CONN_ID = "demo_titles_api"
S3_REGION = "us-east-1"
S3_ACCESS_KEY_ID = "demo-access-key"  # moto accepts any key; these only have to be present
S3_SECRET_ACCESS_KEY = "demo-secret-key"  # noqa: S105 - a dummy for the local moto server
SFTP_USERNAME = "demo_avails"


@dataclass(frozen=True)
class DemoPorts:
    """Where the demo services listen: the fixed ports of the demo provider YAMLs, or others (`free()`)."""

    s3: int = S3_PORT
    sftp: int = SFTP_PORT
    api: int = API_PORT

    @classmethod
    def free(cls) -> DemoPorts:
        """Three ports nothing listens on now, so tests run beside a demo or an Airflow that uses the fixed ones."""
        sockets = [socket.socket() for _ in range(3)]
        try:
            for sock in sockets:
                sock.bind((HOST, 0))
            s3, sftp, api = (int(sock.getsockname()[1]) for sock in sockets)
        finally:
            for sock in sockets:
                sock.close()
        return cls(s3=s3, sftp=sftp, api=api)

    def locations(self) -> dict[str, str]:
        """The demo providers' `source.location` that depend on a port, by provider id."""
        return {
            "demo_avails": f"sftp://{HOST}:{self.sftp}/{AVAILS_FOLDER}",
            "demo_api": f"http://{HOST}:{self.api}{API_TITLES_PATH}",
        }


DEMO_AVAILS_LOCATION = DemoPorts().locations()["demo_avails"]
DEMO_API_LOCATION = DemoPorts().locations()["demo_api"]


def write_provider_configs(source_dir: Path, target_dir: Path, ports: DemoPorts) -> Path:
    """Copy every provider YAML of source_dir into target_dir, the demo providers' locations on `ports`."""
    import yaml

    target_dir.mkdir(parents=True, exist_ok=True)
    locations = ports.locations()
    for path in sorted(source_dir.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if path.stem in locations:
            data["source"]["location"] = locations[path.stem]
        (target_dir / path.name).write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return target_dir


class DemoServiceError(RuntimeError):
    """A demo service could not start: its port is taken, it exited, or it did not answer in time."""


@dataclass
class _Service:
    """One subprocess listening on a fixed port, with its log file."""

    name: str
    port: int
    command: list[str]
    env: dict[str, str] = field(default_factory=dict)
    ready_path: Path | None = None  # also wait for this file (the SFTP server's known_hosts)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    def start(self, log_dir: Path) -> None:
        """Start and wait until the port answers; a taken port, an early exit or a timeout raise DemoServiceError."""
        if port_in_use(self.port):
            raise DemoServiceError(
                f"demo {self.name}: port {self.port} on {HOST} is already in use (an earlier demo still running?)"
            )
        log_dir.mkdir(parents=True, exist_ok=True)
        if self.ready_path is not None:
            self.ready_path.unlink(missing_ok=True)
        self.log_path = log_dir / f"{self.name}.log"
        env = {**os.environ, **self.env}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (*SERVER_PYTHONPATH, env.get("PYTHONPATH", "")) if p)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(  # noqa: S603 - fixed commands
                self.command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                start_new_session=True,  # Ctrl-C reaches only the runner, which stops the services in order
            )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise DemoServiceError(
                    f"demo {self.name} on port {self.port} exited with code {self.process.returncode}:\n"
                    + _tail(self.log_path)
                )
            if _answers(self.port) and (self.ready_path is None or self.ready_path.is_file()):
                return
            time.sleep(0.1)
        raise DemoServiceError(
            f"demo {self.name} did not answer on {HOST}:{self.port} within {START_TIMEOUT_SECONDS:.0f}s "
            f"(log: {self.log_path}):\n" + _tail(self.log_path)
        )

    def stop(self) -> None:
        """Terminate, then kill after STOP_TIMEOUT_SECONDS; waits so the port is free when this returns."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT_SECONDS)


@contextlib.contextmanager
def demo_services(
    drop_root: Path, start: date, days: int, seed: int, state_dir: Path | None = None, ports: DemoPorts | None = None
) -> Iterator[dict[str, str]]:
    """Run the demo's S3, SFTP and API services with `days` delivery days from `start`; yield the connections env.

    Writes demo_adi's ADI into `<drop_root>/demo_adi`, uploads demo_mec's MEC to DEMO_MEC_LOCATION, writes
    demo_avails' xlsx into the SFTP root under `avails/`, and has the API serve demo_api's titles. Keys, known_hosts,
    the SFTP root and the logs live in `state_dir` (default `<drop_root>/../demo_services`). The API's titles are
    updated from 2026-11-01 on (demo_feeds.api_server has no start option), so `start` must be that day. `ports`
    default to the fixed ones the demo provider YAMLs name.
    """
    from demo_feeds.adi import write_demo_data
    from demo_feeds.api_server import FIRST_UPDATE
    from demo_feeds.avails import write_demo_avails
    from demo_feeds.eidr_registry import write_demo_registry
    from demo_feeds.sftp_server import PASSWORD_ENV

    ports = ports or DemoPorts()
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    if start != FIRST_UPDATE.date():
        raise ValueError(f"the demo API's titles are updated from {FIRST_UPDATE.date()} on; start there, not {start}")
    state = (state_dir or drop_root.parent / "demo_services").resolve()
    sftp_root, logs = state / "sftp_root", state / "logs"
    known_hosts = state / "known_hosts"
    sftp_password, api_token = secrets.token_urlsafe(16), secrets.token_urlsafe(24)

    write_demo_data(drop_root / "demo_adi", "demo_adi", start, days, seed)
    for offset in range(days):  # the EIDR registry mirror: a full export in every delivery day's folder
        write_demo_registry(drop_root / "eidr_registry", start + timedelta(days=offset), seed)
    write_demo_avails(sftp_root / AVAILS_FOLDER, "demo_avails", start, days, seed)
    python = sys.executable
    sftp_command = [
        python, "-m", "demo_feeds.sftp_server", "--root", str(sftp_root), "--port", str(ports.sftp),
        "--host-key-file", str(state / "sftp_host_key"), "--known-hosts-out", str(known_hosts),
        "--username", SFTP_USERNAME,
    ]  # fmt: skip
    api_command = [python, "-m", "demo_feeds.api_server", "--port", str(ports.api), "--days", str(days)]
    services = [
        _Service("s3", ports.s3, [python, "-m", "moto.server", "-H", HOST, "-p", str(ports.s3)]),
        _Service("sftp", ports.sftp, sftp_command, {PASSWORD_ENV: sftp_password}, ready_path=known_hosts),
        _Service("api", ports.api, api_command, {"MEDIA_API_TOKEN": api_token}),
    ]
    try:
        for service in services:
            service.start(logs)
        _upload_mec(start, days, seed, ports.s3)
        yield {
            _conn_env(MEC_CONN_ID): json.dumps({
                "conn_type": "aws", "login": S3_ACCESS_KEY_ID, "password": S3_SECRET_ACCESS_KEY,
                "extra": {"endpoint_url": f"http://{HOST}:{ports.s3}", "region_name": S3_REGION},
            }),
            _conn_env(AVAILS_CONN_ID): json.dumps({
                "conn_type": "sftp", "host": HOST, "port": ports.sftp, "login": SFTP_USERNAME,
                "password": sftp_password, "extra": {"known_hosts": str(known_hosts)},
            }),
            _conn_env(API_CONN_ID): json.dumps({
                "conn_type": "http", "host": f"http://{HOST}:{ports.api}", "password": api_token,
            }),
        }  # fmt: skip
    finally:
        for service in reversed(services):
            service.stop()


def port_in_use(port: int) -> bool:
    """Whether something listens on HOST:port (a server would fail to bind it)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT leftovers do not count
        try:
            sock.bind((HOST, port))
        except OSError:
            return True
    return False


def _upload_mec(start: date, days: int, seed: int, s3_port: int) -> None:
    """Write demo_mec's days into a temp folder and put them under DEMO_MEC_LOCATION, `<YYYY-MM-DD>/` kept."""
    import boto3

    from demo_feeds.mec import write_demo_mec

    client = boto3.client(
        "s3",
        endpoint_url=f"http://{HOST}:{s3_port}",
        aws_access_key_id=S3_ACCESS_KEY_ID,
        aws_secret_access_key=S3_SECRET_ACCESS_KEY,
        region_name=S3_REGION,
    )
    client.create_bucket(Bucket=MEC_BUCKET)
    with tempfile.TemporaryDirectory(prefix="demo_mec_") as folder:
        root = Path(folder)
        write_demo_mec(root, "demo_mec", start, days, seed)
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            key = f"{MEC_PREFIX}/{path.relative_to(root).as_posix()}"
            client.put_object(Bucket=MEC_BUCKET, Key=key, Body=path.read_bytes())


def _answers(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1):
            return True
    except OSError:
        return False


def _conn_env(conn_id: str) -> str:
    return f"AIRFLOW_CONN_{conn_id.upper()}"


def _tail(path: Path, lines: int = 20) -> str:
    text = path.read_text(errors="replace").splitlines()[-lines:]
    return "\n".join("  | " + line for line in text)
