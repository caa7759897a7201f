"""The demo's S3, SFTP and API services: the real ingest CLI loads each provider from them, and they always stop."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import psycopg2
import pytest

from demo import services as svc
from media_platform.config.constants import Transport
from media_platform.tasks.credentials import connection_env

pytest.importorskip("moto.server")
pytest.importorskip("asyncssh")

PROJECT_ROOT = Path(__file__).resolve().parents[3]
START = date(2026, 11, 1)
DAYS = 2
SEED = 7
INTERVAL = ["--start", "2026-11-01T00:00:00+00:00", "--end", "2026-11-03T00:00:00+00:00"]
# Free ports, so these tests pass while a demo or `make airflow` holds the fixed ones.
DEMO_PORTS = svc.DemoPorts.free()
PORTS = (DEMO_PORTS.s3, DEMO_PORTS.sftp, DEMO_PORTS.api)
LOCATIONS = DEMO_PORTS.locations()
# What the provider YAMLs say, as CLI arguments (provider ids prefixed so no other test's ledger is touched).
PROVIDERS = {
    "demo_mec": (
        svc.MEC_CONN_ID,
        Transport("s3"),
        ["--format", "mec", "--location", svc.DEMO_MEC_LOCATION, "--file-glob", "*.xml", "--date-in-path", "%Y-%m-%d"],
    ),
    "demo_avails": (
        svc.AVAILS_CONN_ID,
        Transport("sftp"),
        [
            "--format", "avails_xlsx", "--location", LOCATIONS["demo_avails"], "--file-glob", "*.xlsx",
            "--date-in-path", "%Y-%m-%d",
        ],
    ),
    "demo_api": (
        svc.API_CONN_ID,
        Transport("api"),
        [
            "--format", "json", "--source-kind", "api", "--location", LOCATIONS["demo_api"],
            "--format-options", '{"items_field": "items"}', "--api-paging", "cursor",
            "--api-options", '{"items_field": "items", "cursor_field": "next_cursor", "page_size": 50}',
        ],
    ),
}  # fmt: skip


@dataclass(frozen=True)
class Running:
    """The services' yielded environment and the folders they were given."""

    conn_env: dict[str, str]
    drop_root: Path
    state_dir: Path


def _env_for(running: Running, conn_id: str, transport: Transport) -> dict[str, str]:
    """The ingest variables a task would get: the yielded JSON as an Airflow connection, through connection_env."""
    from airflow.sdk import Connection

    conn = Connection.from_json(running.conn_env[f"AIRFLOW_CONN_{conn_id.upper()}"], conn_id=conn_id)
    return connection_env(transport, conn)


def _run_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "include"), **env}
    return subprocess.run(  # noqa: S603 - the project's own CLI
        [sys.executable, "-m", "ingest", *args], env=full_env, capture_output=True, text=True, timeout=180, check=False
    )


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


class TestIngestFromTheServices:
    @pytest.fixture(scope="class")
    def running(self, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
        base = tmp_path_factory.mktemp("demo_services")
        drop_root, state_dir = base / "drop", base / "state"
        with svc.demo_services(drop_root, START, DAYS, SEED, state_dir=state_dir, ports=DEMO_PORTS) as conn_env:
            yield Running(conn_env, drop_root, state_dir)

    def test_yields_one_connection_per_remote_provider(self, running: Running) -> None:
        assert sorted(running.conn_env) == [
            "AIRFLOW_CONN_DEMO_AVAILS_SFTP", "AIRFLOW_CONN_DEMO_MEC_S3", "AIRFLOW_CONN_DEMO_TITLES_API",
        ]  # fmt: skip
        assert _env_for(running, svc.MEC_CONN_ID, Transport("s3")) == {
            "AWS_ACCESS_KEY_ID": svc.S3_ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": svc.S3_SECRET_ACCESS_KEY,
            "MEDIA_S3_ENDPOINT_URL": f"http://127.0.0.1:{DEMO_PORTS.s3}",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        sftp = _env_for(running, svc.AVAILS_CONN_ID, Transport("sftp"))
        assert sftp["MEDIA_SFTP_USERNAME"] == svc.SFTP_USERNAME and sftp["MEDIA_SFTP_PASSWORD"]
        known_hosts = Path(sftp["MEDIA_SFTP_KNOWN_HOSTS"])
        assert known_hosts.parent == running.state_dir.resolve()
        assert known_hosts.read_text().startswith(f"[127.0.0.1]:{DEMO_PORTS.sftp} ssh-ed25519 ")
        assert _env_for(running, svc.API_CONN_ID, Transport("api"))["MEDIA_API_TOKEN"]
        assert all(_listening(port) for port in PORTS)

    def test_writes_the_adi_days_into_the_drop_root(self, running: Running) -> None:
        folders = sorted(p.name for p in (running.drop_root / "demo_adi").iterdir())
        assert folders == ["2026-11-01", "2026-11-02"]

    def test_the_api_location_is_the_servers_titles_path(self) -> None:
        from demo_feeds.api_server import TITLES_PATH

        assert (svc.DEMO_API_LOCATION, svc.API_TITLES_PATH) == ("http://127.0.0.1:18980/v1/titles", TITLES_PATH)

    def test_the_fixed_ports_are_the_ones_the_demo_yamls_name(self, tmp_path: Path) -> None:
        from media_platform.config.provider import load_provider_config

        providers = PROJECT_ROOT / "include" / "providers"
        for provider_id, location in svc.DemoPorts().locations().items():
            assert load_provider_config(providers / f"{provider_id}.yaml").source.location == location
        moved = svc.write_provider_configs(providers, tmp_path / "providers", DEMO_PORTS)
        for provider_id, location in LOCATIONS.items():
            assert load_provider_config(moved / f"{provider_id}.yaml").source.location == location
        assert sorted(p.name for p in moved.glob("*.yaml")) == sorted(p.name for p in providers.glob("*.yaml"))

    def test_sftp_clients_cannot_leave_the_served_root(self, running: Running) -> None:
        from ingest.discover.transports import open_location

        env = _env_for(running, svc.AVAILS_CONN_ID, Transport("sftp"))
        location = open_location(f"sftp://127.0.0.1:{DEMO_PORTS.sftp}/", env)
        assert location.fs.ftp.normalize("/../..") == "/"
        assert sorted(location.fs.ftp.listdir("/..")) == ["avails"]

    @pytest.mark.parametrize("provider", sorted(PROVIDERS))
    def test_the_ingest_cli_loads_and_reconciles(self, provider: str, running: Running, warehouse_dsn: str) -> None:
        conn_id, transport, args = PROVIDERS[provider]
        provider_id = f"svc_{provider}"
        env = {"WAREHOUSE_DSN": warehouse_dsn, **_env_for(running, conn_id, transport)}
        done = _run_cli(["run", "--provider", provider_id, *args, *INTERVAL], env)
        assert done.returncode == 0, done.stderr
        summary = json.loads(done.stdout.strip().splitlines()[-1])
        assert summary["records_loaded"] > 0
        assert summary["records_read"] == summary["records_loaded"] + summary["records_quarantined"]
        if provider == "demo_api":
            assert (summary["records_read"], summary["records_quarantined"], summary["files_read"]) == (120, 0, 3)
        else:  # one broken record a day, and (one batch over the days) earlier deliveries a later day updates
            assert summary["records_quarantined"] - _duplicates_in_batch(warehouse_dsn, provider_id) == DAYS
        secrets = [v for k, v in env.items() if k.endswith(("PASSWORD", "SECRET_ACCESS_KEY", "TOKEN"))]
        assert secrets and not any(secret in done.stderr for secret in secrets)
        with psycopg2.connect(warehouse_dsn) as conn, conn.cursor() as cur:
            cur.execute(
                "select records_read, records_loaded, records_quarantined from raw.ingest_batches "
                "where provider_id = %s",
                (provider_id,),
            )
            assert cur.fetchall() == [
                (summary["records_read"], summary["records_loaded"], summary["records_quarantined"])
            ]


def _duplicates_in_batch(warehouse_dsn: str, provider_id: str) -> int:
    """Records quarantined because a later delivery of the same asset and version came in the same batch."""
    with psycopg2.connect(warehouse_dsn) as conn, conn.cursor() as cur:
        cur.execute(
            "select count(*) from raw.quarantine where provider_id = %s and reason like 'duplicate in the batch:%%'",
            (provider_id,),
        )
        return int(cur.fetchone()[0])


def test_the_services_stop_on_exit(tmp_path: Path) -> None:
    with svc.demo_services(tmp_path / "drop", START, 1, SEED, ports=DEMO_PORTS) as conn_env:
        assert len(conn_env) == 3 and all(_listening(port) for port in PORTS)
    assert (tmp_path / "demo_services" / "logs" / "s3.log").is_file()  # default state dir: next to the drop root
    assert not any(svc.port_in_use(port) for port in PORTS)


def test_a_taken_port_names_itself_and_stops_what_already_started(tmp_path: Path) -> None:
    with socket.socket() as blocker:
        blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # earlier tests' connections may linger
        blocker.bind(("127.0.0.1", DEMO_PORTS.api))
        blocker.listen()
        taken = pytest.raises(svc.DemoServiceError, match=f"port {DEMO_PORTS.api} on 127.0.0.1 is already in use")
        with taken, svc.demo_services(tmp_path / "drop", START, 1, SEED, ports=DEMO_PORTS):
            pytest.fail("must not get here")  # pragma: no cover
    assert not any(svc.port_in_use(port) for port in PORTS)


def test_an_error_inside_the_block_still_stops_them(tmp_path: Path) -> None:
    with pytest.raises(KeyError), svc.demo_services(tmp_path / "drop", START, 1, SEED, ports=DEMO_PORTS):
        raise KeyError("boom")
    assert not any(svc.port_in_use(port) for port in PORTS)


def test_a_start_the_api_cannot_serve_is_refused(tmp_path: Path) -> None:
    refused = pytest.raises(ValueError, match="updated from 2026-11-01 on")
    with refused, svc.demo_services(tmp_path / "drop", date(2026, 11, 5), 1, SEED, ports=DEMO_PORTS):
        pytest.fail("must not get here")  # pragma: no cover
    assert not (tmp_path / "drop").exists()
