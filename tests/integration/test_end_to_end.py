"""The whole path on the real stack: Airflow runs the demo provider's DAG and the publish DAG (dbt, GX, publish)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from stdnum.iso7064 import mod_37_36

pytestmark = pytest.mark.integration

PROJECT_ROOT = Path(__file__).resolve().parents[2]

PROVIDER = "demo_adi"
ALL_PROVIDERS = ("demo_adi", "demo_mec", "demo_avails", "demo_api", "eidr_registry")
INTERVAL = ("2026-11-02T00:00:00+00:00", "2026-11-03T00:00:00+00:00")
NEXT_INTERVAL_END = "2026-11-04T00:00:00+00:00"


def airflow_dags_test(dag_id: str, logical_date: str | None, log_dir: Path) -> subprocess.CompletedProcess[str]:
    """`airflow dags test` in a child process, as an operator would run it; the log is kept for failures. The
    providers are the project's YAMLs with the demo services on free ports (see `demo_ports`)."""
    command = [sys.executable, "-m", "airflow", "dags", "test", dag_id, *([logical_date] if logical_date else [])]
    env = {**os.environ, "MEDIA_DEADLINE_ALERTS": "off"}  # apache/airflow#73428: `dags test` and deadlines
    env["MEDIA_PROVIDERS_DIR"] = str(log_dir.parent / "integration_providers")
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    (log_dir / f"{dag_id}-{logical_date or 'now'}.log").write_text(result.stdout + result.stderr)
    return result


def query(dsn: str, sql: str, params: tuple = ()) -> list[tuple]:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def reporting_snapshot(dsn: str) -> list[tuple]:
    return query(dsn, "select * from reporting.titles order by asset_key")


@pytest.fixture(scope="module")
def drop_root(test_env: dict[str, str]) -> Path:
    return Path(test_env["MEDIA_DROP_ROOT"])


@pytest.fixture(scope="module")
def log_dir(test_env: dict[str, str]) -> Path:
    path = Path(test_env["MEDIA_ARTIFACTS_DIR"]) / "integration_logs"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def demo_ports(log_dir: Path) -> Any:
    """Free ports for the demo services (a demo or `make airflow` may hold the fixed ones), and the provider YAMLs
    that name them, where airflow_dags_test points MEDIA_PROVIDERS_DIR."""
    from demo.services import DemoPorts, write_provider_configs

    ports = DemoPorts.free()
    write_provider_configs(PROJECT_ROOT / "include" / "providers", log_dir.parent / "integration_providers", ports)
    return ports


@pytest.fixture(scope="module")
def demo_connections() -> dict[str, str]:
    """The AIRFLOW_CONN_* variables the demo services gave the run (filled by first_publish): they hold its secrets."""
    return {}


@pytest.fixture(scope="module")
def first_publish(
    drop_root: Path, log_dir: Path, warehouse_dsn: str, demo_ports: Any, demo_connections: dict[str, str]
) -> dict[str, subprocess.CompletedProcess[str]]:
    """Every demo provider ingests one interval from its own transport (local, S3, SFTP, API), then one publish."""
    from demo.services import demo_services

    runs: dict[str, subprocess.CompletedProcess[str]] = {}
    with demo_services(drop_root, date(2026, 11, 1), 3, seed=7, ports=demo_ports) as service_env:
        demo_connections.update(service_env)
        saved = dict(os.environ)
        os.environ.update(service_env)
        try:
            for provider in ALL_PROVIDERS:
                runs[provider] = airflow_dags_test(f"ingest_{provider}", INTERVAL[1], log_dir)
        finally:
            os.environ.clear()
            os.environ.update(saved)
    runs["ingest"] = runs[PROVIDER]
    ok = all(run.returncode == 0 for run in runs.values())
    runs["publish"] = airflow_dags_test("publish_reporting", None, log_dir) if ok else runs[PROVIDER]
    return runs


def test_provider_dag_run_loads_the_interval(first_publish: dict, warehouse_dsn: str, log_dir: Path) -> None:
    assert first_publish["ingest"].returncode == 0, f"see {log_dir}"
    [(files, read, loaded, quarantined)] = query(
        warehouse_dsn,
        "select files_read, records_read, records_loaded, records_quarantined from raw.ingest_batches "
        "where provider_id = %s and interval_start = %s and interval_end = %s",
        (PROVIDER, *INTERVAL),
    )
    assert files > 0 and loaded > 0
    assert read == loaded + quarantined
    staged = "select count(*) from staging.stg_adi__titles where provider_id = %s"
    assert query(warehouse_dsn, staged, (PROVIDER,))[0][0] == loaded


@pytest.mark.parametrize("provider", ALL_PROVIDERS)
def test_every_transport_and_format_loads_and_reconciles(
    first_publish: dict, provider: str, warehouse_dsn: str
) -> None:
    assert first_publish[provider].returncode == 0, first_publish[provider].stdout[-3000:]
    [(read, loaded, quarantined)] = query(
        warehouse_dsn,
        "select records_read, records_loaded, records_quarantined from raw.ingest_batches "
        "where provider_id = %s and interval_start = %s",
        (provider, INTERVAL[0]),
    )
    assert loaded > 0 and read == loaded + quarantined


def test_publish_dag_fills_reporting(first_publish: dict, warehouse_dsn: str, log_dir: Path) -> None:
    assert first_publish["publish"].returncode == 0, f"see {log_dir}"
    [(assets,)] = query(
        warehouse_dsn, "select count(distinct title_asset_id) from raw.adi_titles where provider_id = %s", (PROVIDER,)
    )
    [(published,)] = query(warehouse_dsn, "select count(*) from reporting.titles where provider_id = %s", (PROVIDER,))
    assert published == assets > 0
    providers = {row[0] for row in query(warehouse_dsn, "select distinct provider_id from reporting.titles")}
    assert providers == {"demo_adi", "demo_mec", "demo_api"}
    assert query(warehouse_dsn, "select count(*) from reporting.availability_windows")[0][0] > 0
    assert query(warehouse_dsn, "select count(*) from reporting.provider_deliveries")[0][0] >= 1
    # Every EIDR ID marked valid really passes the ISO 7064 check; invalid ones are kept, with their reason.
    for eidr_id, status, reason in query(
        warehouse_dsn, "select eidr_id, eidr_status, eidr_invalid_reason from reporting.titles"
    ):
        if status == "valid":
            assert mod_37_36.is_valid(eidr_id.removeprefix("10.5240/").replace("-", ""))
        elif status == "invalid":
            assert eidr_id is None and reason


def test_eidr_ids_are_resolved_against_the_registry(first_publish: dict, warehouse_dsn: str) -> None:
    assert first_publish["publish"].returncode == 0
    # A valid ID the provider sent that the registry confirms is kept as provided.
    provided = query(
        warehouse_dsn,
        "select t.eidr_id, m.eidr_id, m.method from reporting.titles t join reporting.eidr_mapping m using (asset_key)"
        " where t.eidr_status = 'valid' and t.provider_id = %s",
        (PROVIDER,),
    )
    assert provided and all(sent == mapped and method == "provided" for sent, mapped, method in provided)
    # Assets without a usable ID get one by matching (the demo films are real films the registry holds).
    [(matched,)] = query(warehouse_dsn, "select count(*) from reporting.eidr_mapping where method = 'matched'")
    assert matched > 0
    for provider_id, assets, mapped, review, unmatched in query(
        warehouse_dsn, "select provider_id, assets, mapped, in_review, unmatched from reporting.eidr_coverage"
    ):
        assert mapped + review + unmatched == assets, provider_id
    # titles carries the mapping of each of its assets
    disagreeing = query(
        warehouse_dsn,
        "select asset_key from reporting.titles t join reporting.eidr_mapping m using (asset_key)"
        " where t.mapped_eidr_id is distinct from m.eidr_id",
    )
    assert disagreeing == []
    [(titles_mapped,)] = query(warehouse_dsn, "select count(mapped_eidr_id) from reporting.titles")
    assert titles_mapped > 0


def test_override_wins_after_the_next_publish(first_publish: dict, warehouse_dsn: str, log_dir: Path) -> None:
    assert first_publish["publish"].returncode == 0
    [(asset_key,)] = query(
        warehouse_dsn, "select asset_key from reporting.eidr_mapping where method = 'matched' order by 1 limit 1"
    )
    ghostbusters = "10.5240/7EC7-228A-510A-053E-CBB8-J"
    override = subprocess.run(
        [sys.executable, "-m", "eidr_matching", "override", "--asset-key", asset_key, "--eidr-id", ghostbusters,
         "--by", "test-operator", "--reason", "checked by hand"],
        capture_output=True, text=True, env=os.environ.copy(), check=False,
    )  # fmt: skip
    assert override.returncode == 0, override.stderr
    publish = airflow_dags_test("publish_reporting", None, log_dir)
    assert publish.returncode == 0, f"see {log_dir}"
    assert query(
        warehouse_dsn,
        "select m.eidr_id, m.method, m.override_by, t.mapped_eidr_id from reporting.eidr_mapping m"
        " join reporting.titles t using (asset_key) where asset_key = %s",
        (asset_key,),
    ) == [(ghostbusters, "override", "test-operator", ghostbusters)]


def test_publish_leaves_docs(first_publish: dict, test_env: dict[str, str]) -> None:
    artifacts = Path(test_env["MEDIA_ARTIFACTS_DIR"])
    assert (artifacts / "dbt_docs" / "index.html").exists()
    assert (artifacts / "dbt_docs" / "catalog.json").exists()
    assert list((artifacts / "gx").rglob("index.html"))


def test_a_bad_row_is_quarantined_and_everything_else_is_published(
    first_publish: dict, drop_root: Path, log_dir: Path, warehouse_dsn: str, test_env: dict[str, str]
) -> None:
    assert first_publish["publish"].returncode == 0, f"see {log_dir}"
    others = "select * from reporting.titles where provider_id <> %s order by asset_key"
    before = query(warehouse_dsn, others, (PROVIDER,))
    # A delivery whose runtime is 99 hours: it parses (so it is not quarantined at ingest) but breaks a record rule.
    day = drop_root / PROVIDER / "2026-11-03"
    template = (Path(__file__).parents[1] / "fixtures" / "public" / "adi" / "vod_metadata_reference.xml").read_text()
    bad = template.replace('Value="01:02:03"', 'Value="99:00:00"').replace("TSTT2003010204050001", "BADRUNTIME0001")
    assert bad != template
    day.mkdir(parents=True, exist_ok=True)
    (day / "zz_bad_runtime.xml").write_text(bad)
    ingest = airflow_dags_test(f"ingest_{PROVIDER}", NEXT_INTERVAL_END, log_dir)
    assert ingest.returncode == 0, f"see {log_dir}"
    publish = airflow_dags_test("publish_reporting", None, log_dir)
    assert publish.returncode == 0, f"see {log_dir}"
    [(asset_key, batch_id, rule, reason)] = query(
        warehouse_dsn,
        "select asset_key, batch_id, rule, reason from audit.quarantine where is_open and provider_id = %s",
        (PROVIDER,),
    )
    assert "BADRUNTIME0001" in asset_key
    assert rule == "expect_column_values_to_be_between(runtime_minutes)" and "5940" in reason
    assert query(warehouse_dsn, "select count(*) from reporting.titles where asset_key = %s", (asset_key,)) == [(0,)]
    assert query(warehouse_dsn, others, (PROVIDER,)) == before  # no other provider was touched, let alone blocked
    [(loaded, published, quarantined, superseded)] = query(
        warehouse_dsn,
        "select records_loaded, records_published, records_quarantined_at_audit, records_superseded"
        " from reporting.provider_deliveries where batch_id = %s",
        (batch_id,),
    )
    assert quarantined == 1 and loaded == published + quarantined + superseded
    docs = "".join(
        page.read_text(errors="replace") for page in (Path(test_env["MEDIA_ARTIFACTS_DIR"]) / "gx").rglob("*.html")
    )
    assert "runtime_minutes" in docs


# What a demo-like run leaves behind and who may read it: every file under these folders, these tables of the
# Airflow metadata database (import errors, XComs, rendered fields, the audit log, runs) and of the warehouse.
METADATA_TABLES = ("import_error", "xcom", "rendered_task_instance_fields", "log", "dag_run", "task_instance")
WAREHOUSE_TABLES = ("ops.alerts", "raw.ingest_batches", "raw.ingest_ledger", "raw.quarantine", "eidr.match_runs")


def _demo_secrets(demo_connections: dict[str, str], warehouse_dsn: str) -> dict[str, str]:
    """Every secret the demo run used: the S3 keys, the SFTP password, the API token and the warehouse password."""
    import json
    from urllib.parse import urlsplit

    found = {}
    for variable, value in demo_connections.items():
        conn = json.loads(value)
        found[f"{variable} password"] = conn["password"]
        if conn["conn_type"] == "aws":
            found[f"{variable} access key id"] = conn["login"]
    parts = urlsplit(warehouse_dsn)
    if parts.password and parts.password != parts.username:  # not the embedded server's placeholder (trust auth)
        found["warehouse password"] = parts.password
    return found


def test_no_secret_of_the_demo_shows_in_any_log_import_error_or_artifact(
    first_publish: dict, demo_connections: dict[str, str], warehouse_dsn: str, test_env: dict[str, str]
) -> None:
    import stat

    assert first_publish["publish"].returncode == 0
    secrets = _demo_secrets(demo_connections, warehouse_dsn)
    assert {"AIRFLOW_CONN_DEMO_AVAILS_SFTP password", "AIRFLOW_CONN_DEMO_TITLES_API password"} <= set(secrets)
    assert all(len(secret) >= 6 for secret in secrets.values())
    artifacts = Path(test_env["MEDIA_ARTIFACTS_DIR"])
    # The one file that must hold the warehouse URL, owner-only; everything else is grepped.
    gx_variables = artifacts / "gx" / "gx" / "uncommitted" / "config_variables.yml"
    assert stat.S_IMODE(gx_variables.stat().st_mode) == 0o600
    folders = [
        artifacts, Path(test_env["AIRFLOW_HOME"]), Path(test_env["MEDIA_DROP_ROOT"]).parent / "demo_services" / "logs",
        PROJECT_ROOT / "include" / "dbt" / "target", PROJECT_ROOT / "include" / "dbt" / "logs",
        *([Path(test_env["AIRFLOW__COSMOS__CACHE_DIR"])] if test_env.get("AIRFLOW__COSMOS__CACHE_DIR") else []),
    ]  # fmt: skip
    leaks = []
    files = 0
    for folder in folders:
        for path in (p for p in folder.rglob("*") if p.is_file() and p != gx_variables):
            files += 1
            data = path.read_bytes()
            leaks += [f"{name} in {path}" for name, secret in secrets.items() if secret.encode() in data]
    assert files > 50  # the task logs, dbt docs, GX data docs and the runs' logs are all there
    for dsn, tables in (
        (test_env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], METADATA_TABLES),
        (warehouse_dsn, WAREHOUSE_TABLES),
    ):
        libpq = dsn.replace("postgresql+psycopg2://", "postgresql://")
        for table in tables:
            if not query(libpq, "select to_regclass(%s) is not null", (table,))[0][0]:
                continue
            text = "\n".join(row[0] for row in query(libpq, f"select t::text from {table} as t"))  # noqa: S608
            leaks += [f"{name} in {table}" for name, secret in secrets.items() if secret in text]
    assert leaks == []
