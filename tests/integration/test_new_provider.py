"""Adding a provider of an existing format is one YAML file: its DAG, its staging slice and its rows in the marts."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest

from media_platform.tasks.ingest_cli import INTERVAL_END, INTERVAL_START

pytestmark = pytest.mark.integration

PROJECT_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = PROJECT_ROOT / "tests" / "fixtures" / "public" / "adi"
PROVIDER = "acme_films"
LOGICAL_DATE = "2026-11-03T00:00:00+00:00"  # a manual run: the interval [2026-11-02, 2026-11-03)
ACME_YAML = """\
provider_id: acme_films
display_name: Acme Films
description: A studio delivering CableLabs ADI 1.1 packages into a drop folder, one folder per delivery day.
format: adi
source:
  transport: local
  location: acme_films
  file_glob: "*.xml"
schedule: "@daily"
start_date: 2026-11-01
owner: content-ops
alert_channel: "slack:#media-data-alerts"
"""


def query(dsn: str, sql: str, params: tuple = ()) -> list[tuple]:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


@pytest.fixture(scope="module")
def own_warehouse(warehouse_dsn: str) -> Iterator[str]:
    """A warehouse database of this module's own, so the other integration tests' deliveries do not show up here."""
    name = warehouse_dsn.rsplit("/", 1)[1] + "_new_provider"
    admin = psycopg2.connect(warehouse_dsn.rsplit("/", 1)[0] + "/postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'drop database if exists "{name}" with (force)')
        cur.execute(f'create database "{name}"')
    try:
        yield warehouse_dsn.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.cursor() as cur:
            cur.execute(f'drop database if exists "{name}" with (force)')
        admin.close()


@pytest.fixture(scope="module")
def new_provider_env(own_warehouse: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The existing providers plus acme_films.yaml in a temporary folder, and acme's drop folder with two packages."""
    root = tmp_path_factory.mktemp("new_provider")
    providers = root / "providers"
    shutil.copytree(PROJECT_ROOT / "include" / "providers", providers)
    (providers / f"{PROVIDER}.yaml").write_text(ACME_YAML)
    day = root / "drop" / PROVIDER / "2026-11-02"
    day.mkdir(parents=True)
    shutil.copy(FIXTURES / "HBO_ADI_OK.XML", day / "hbo_package.xml")
    shutil.copy(FIXTURES / "vod_metadata_reference.xml", day / "reference_package.xml")
    return {
        **os.environ,
        "MEDIA_PROVIDERS_DIR": str(providers),
        "MEDIA_DROP_ROOT": str(root / "drop"),
        "MEDIA_ARTIFACTS_DIR": str(root / "artifacts"),
        "AIRFLOW_CONN_WAREHOUSE": own_warehouse,
        "AIRFLOW_CONN_WAREHOUSE_INGEST": own_warehouse,
        "AIRFLOW_CONN_WAREHOUSE_PUBLISH": own_warehouse,
        "WAREHOUSE_DSN": own_warehouse,
        "WAREHOUSE_DB": own_warehouse.rsplit("/", 1)[1],
        "MEDIA_DEADLINE_ALERTS": "off",  # apache/airflow#73428: `dags test` and deadlines
    }


def airflow_dags_test(dag_id: str, logical_date: str | None, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "airflow", "dags", "test", dag_id, *([logical_date] if logical_date else [])]
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    log = Path(env["MEDIA_ARTIFACTS_DIR"]) / f"{dag_id}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(result.stdout + result.stderr)
    return result


def test_a_new_adi_provider_yaml_is_all_it_takes(
    new_provider_env: dict[str, str], own_warehouse: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # its DAG is built from the YAML, with the ADI staging slice for its own rows
    monkeypatch.setenv("MEDIA_PROVIDERS_DIR", new_provider_env["MEDIA_PROVIDERS_DIR"])
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(PROJECT_ROOT / "dags"))
    assert bag.import_errors == {}
    staging_tests = bag.dags[f"ingest_{PROVIDER}"].get_task("transform_staging.test")
    configured = sorted(path.stem for path in Path(new_provider_env["MEDIA_PROVIDERS_DIR"]).glob("*.yaml"))
    assert staging_tests.select == "tag:format_adi"
    assert PROVIDER in configured
    assert staging_tests.vars == {  # its own rows of the run's data interval
        "providers": configured,
        "provider_id": PROVIDER,
        "test_interval_start": INTERVAL_START,
        "test_interval_end": INTERVAL_END,
    }

    # its DAG loads the packages and tests its staging slice
    ingest = airflow_dags_test(f"ingest_{PROVIDER}", LOGICAL_DATE, new_provider_env)
    assert ingest.returncode == 0, ingest.stdout[-3000:] + ingest.stderr[-3000:]
    assert "provider_id: acme_films" in ingest.stdout + ingest.stderr  # the staging tests got its var
    batches = "select records_loaded from raw.ingest_batches where provider_id = %s"
    assert query(own_warehouse, batches, (PROVIDER,)) == [(2,)]
    staged = "select count(*) from staging.stg_adi__titles where provider_id = %s"
    assert query(own_warehouse, staged, (PROVIDER,)) == [(2,)]

    # after publish its rows are in the marts
    publish = airflow_dags_test("publish_reporting", None, new_provider_env)
    assert publish.returncode == 0, publish.stdout[-3000:] + publish.stderr[-3000:]
    assert query(own_warehouse, "select provider_id, count(*) from reporting.titles group by 1") == [(PROVIDER, 2)]
    for mart in ("provider_deliveries", "eidr_coverage", "eidr_mapping"):
        [(rows,)] = query(own_warehouse, f"select count(*) from reporting.{mart} where provider_id = %s", (PROVIDER,))
        assert rows > 0, mart
