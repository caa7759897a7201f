"""Staging and intermediate views are re-created when the project changes, never on every run, never concurrently."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from media_platform.config.dbt_manifest import view_definitions
from media_platform.tasks.dbt_views import DEPLOY_SCHEMA, deploy_views

ALL_VIEWS = [
    "int_titles_for_matching", "int_titles_latest_versions", "int_titles_unioned",
    "stg_adi__titles", "stg_avails__avails", "stg_csv__titles", "stg_json__titles", "stg_mec__titles",
]  # fmt: skip


@pytest.fixture(scope="module")
def raw_tables(warehouse_dsn: str) -> None:
    """Every format's raw table, as any ingest run leaves them."""
    from ingest.load import warehouse as raw_warehouse

    conn = raw_warehouse.connect(warehouse_dsn)
    try:
        raw_warehouse.ensure_tables(conn)
    finally:
        conn.close()


class DbtRuns:
    """A `run_dbt` for deploy_views that really runs `dbt run` and remembers each selection it was given."""

    def __init__(self, run_dbt: Callable[..., subprocess.CompletedProcess[str]]):
        self.run_dbt = run_dbt
        self.selections: list[list[str]] = []

    def __call__(self, models: Sequence[str]) -> None:
        self.selections.append(list(models))
        result = self.run_dbt("run", "--select", " ".join(models))
        assert result.returncode == 0, result.stdout[-3000:]


@pytest.fixture()
def dbt_runs(run_dbt: Callable[..., subprocess.CompletedProcess[str]]) -> DbtRuns:
    return DbtRuns(run_dbt)


def _views(warehouse: Any) -> set[str]:
    with warehouse.cursor() as cur:
        cur.execute("select viewname from pg_views where schemaname in ('staging', 'intermediate')")
        return {row[0] for row in cur.fetchall()}


def _changed_manifest(manifest: dict[str, Any], tmp_path: Path, model: str) -> Path:
    """The manifest as it would be after editing `model`'s SQL."""
    copy = json.loads(json.dumps(manifest))
    copy["nodes"][f"model.media_platform.{model}"]["checksum"]["checksum"] = "edited"
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(copy))
    return path


def test_views_are_created_once_and_recreated_only_when_changed(
    raw_tables: None,
    warehouse: Any,
    warehouse_dsn: str,
    manifest_path: Path,
    manifest: dict[str, Any],
    dbt_runs: DbtRuns,
    tmp_path: Path,
) -> None:
    with warehouse.cursor() as cur:
        cur.execute(f"drop schema if exists {DEPLOY_SCHEMA} cascade")
    assert sorted(view.name for view in view_definitions(manifest).values()) == ALL_VIEWS

    assert deploy_views(warehouse_dsn, manifest_path, dbt_runs) == ALL_VIEWS
    assert sorted(_views(warehouse) & set(ALL_VIEWS)) == ALL_VIEWS
    # unchanged project: no dbt run at all
    assert deploy_views(warehouse_dsn, manifest_path, dbt_runs) == []
    assert len(dbt_runs.selections) == 1

    # an edited staging model: it and the views over it are re-created, once
    edited = _changed_manifest(manifest, tmp_path, "stg_mec__titles")
    downstream = ["int_titles_for_matching", "int_titles_latest_versions", "int_titles_unioned", "stg_mec__titles"]
    assert deploy_views(warehouse_dsn, edited, dbt_runs) == downstream
    assert deploy_views(warehouse_dsn, edited, dbt_runs) == []
    assert deploy_views(warehouse_dsn, manifest_path, dbt_runs) == downstream
    assert len(dbt_runs.selections) == 3

    # a view dropped behind dbt's back (say by a cascade) is re-created
    with warehouse.cursor() as cur:
        cur.execute("drop view intermediate.int_titles_for_matching")
    assert deploy_views(warehouse_dsn, manifest_path, dbt_runs) == ["int_titles_for_matching"]
    assert "int_titles_for_matching" in _views(warehouse)


def test_concurrent_deploys_run_dbt_once(raw_tables: None, warehouse: Any, warehouse_dsn: str, manifest_path: Path):
    with warehouse.cursor() as cur:
        cur.execute(f"drop schema if exists {DEPLOY_SCHEMA} cascade")
    runs: list[list[str]] = []

    def slow_run(models: Sequence[str]) -> None:
        runs.append(list(models))
        time.sleep(1)  # the second caller arrives while the first one holds the lock

    results: list[list[str]] = []
    threads = [
        threading.Thread(target=lambda: results.append(deploy_views(warehouse_dsn, manifest_path, slow_run)))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
        time.sleep(0.2)
    for thread in threads:
        thread.join()
    assert runs == [ALL_VIEWS]
    assert sorted(results) == [[], ALL_VIEWS]


def test_provider_var_limits_the_staging_tests_to_the_provider(
    raw_tables: None,
    warehouse_dsn: str,
    manifest_path: Path,
    run_dbt: Callable[..., subprocess.CompletedProcess[str]],
    dbt_runs: DbtRuns,
) -> None:
    deploy_views(warehouse_dsn, manifest_path, dbt_runs)
    rows = [("good_adi", "valid"), ("other_adi", "bogus")]
    with psycopg2.connect(warehouse_dsn) as conn, conn.cursor() as cur:
        for provider_id, status in rows:
            cur.execute(
                "insert into raw.adi_titles (batch_id, provider_id, interval_start, interval_end, source_file,"
                " source_location, loaded_at, record_hash, title_asset_id, title, eidr_status, record)"
                " values (%s, %s, '2026-11-02', '2026-11-03', 'a.xml', '/ADI', now(), 'h', 'T1', 'A title', %s, '{}')",
                (f"{provider_id}-batch", provider_id, status),
            )
    try:
        good = run_dbt("test", "--select", "tag:format_adi", "--vars", "{provider_id: good_adi}")
        assert good.returncode == 0, good.stdout[-3000:]
        other = run_dbt("test", "--select", "tag:format_adi", "--vars", "{provider_id: other_adi}")
        assert other.returncode != 0 and "accepted_values_stg_adi__titles_eidr_status" in other.stdout
        everyone = run_dbt("test", "--select", "tag:format_adi")
        assert everyone.returncode != 0
    finally:
        with psycopg2.connect(warehouse_dsn) as conn, conn.cursor() as cur:
            cur.execute("delete from raw.adi_titles where provider_id in ('good_adi', 'other_adi')")


def test_a_changed_provider_list_redeploys_every_view_once(
    raw_tables: None, warehouse: Any, warehouse_dsn: str, manifest_path: Path
) -> None:
    with warehouse.cursor() as cur:
        cur.execute(f"drop schema if exists {DEPLOY_SCHEMA} cascade")
    runs: list[list[str]] = []
    two = {"providers": ["demo_adi", "demo_mec"]}
    assert deploy_views(warehouse_dsn, manifest_path, runs.append, two) == ALL_VIEWS
    assert deploy_views(warehouse_dsn, manifest_path, runs.append, two) == []
    assert deploy_views(warehouse_dsn, manifest_path, runs.append, {"providers": ["demo_adi"]}) == ALL_VIEWS
    assert len(runs) == 2


def test_rows_of_unconfigured_providers_never_reach_staging(
    raw_tables: None,
    warehouse: Any,
    run_dbt: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    with warehouse.cursor() as cur:
        for provider_id in ("configured_adi", "typo_adi"):
            cur.execute(
                "insert into raw.adi_titles (batch_id, provider_id, interval_start, interval_end, source_file,"
                " source_location, loaded_at, record_hash, title_asset_id, title, eidr_status, record)"
                " values (%s, %s, '2026-11-02', '2026-11-03', 'a.xml', '/ADI', now(), 'h', 'T1', 'A title', 'missing',"
                " '{}')",
                (f"{provider_id}-filter-batch", provider_id),
            )
    try:
        for vars_, expected in (
            ("{providers: [configured_adi]}", {"configured_adi"}),
            ("{providers: []}", set()),
            ("{}", {"configured_adi", "typo_adi"}),  # by hand, without the var: everything in raw
        ):
            result = run_dbt("run", "--select", "stg_adi__titles", "--vars", vars_)
            assert result.returncode == 0, result.stdout[-3000:]
            with warehouse.cursor() as cur:
                cur.execute(
                    "select distinct provider_id from staging.stg_adi__titles where batch_id like '%-filter-batch'"
                )
                assert {row[0] for row in cur.fetchall()} == expected, vars_
    finally:
        with warehouse.cursor() as cur:
            cur.execute("delete from raw.adi_titles where batch_id like '%-filter-batch'")
        run_dbt("run", "--select", "stg_adi__titles")


def test_provider_deliveries_keeps_only_the_configured_providers(
    raw_tables: None,
    warehouse: Any,
    run_dbt: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    from eidr_matching import store

    store.ensure_tables(warehouse)  # the marts' delta reads the matcher's decisions too
    with warehouse.cursor() as cur:
        for provider_id in ("configured_adi", "typo_adi"):
            cur.execute(
                "insert into raw.ingest_batches values (%s, %s, 'adi', '2026-11-02', '2026-11-03', 1, 3, 3, 0, 10,"
                " now(), now())",
                (f"{provider_id}-deliveries-batch", provider_id),
            )
    try:
        result = run_dbt(
            "run", "--select", "provider_deliveries", "--full-refresh", "--vars", "{providers: [configured_adi]}"
        )
        assert result.returncode == 0, result.stdout[-3000:]
        with warehouse.cursor() as cur:
            cur.execute("select provider_id from audit.provider_deliveries where batch_id like '%-deliveries-batch'")
            assert [row[0] for row in cur.fetchall()] == ["configured_adi"]
    finally:
        with warehouse.cursor() as cur:
            cur.execute("delete from raw.ingest_batches where batch_id like '%-deliveries-batch'")
        run_dbt("run", "--select", "provider_deliveries", "--full-refresh")
