"""`make demo`: runs the demo provider's DAG and the publish DAG through Airflow for one interval, then summarises."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from media_platform.audit.gx_checkpoint import data_docs_index_path
from media_platform.config.dbt_manifest import published_marts
from media_platform.config.provider import load_provider_configs
from media_platform.config.settings import PlatformSettings
from media_platform.dag_factory.publish_dag import PUBLISH_DAG_ID


def interval_end(schedule: str, start: datetime) -> datetime:
    """The end of the data interval that starts at `start` under the provider's schedule."""
    from croniter import croniter

    from media_platform.config.constants import cron_expression

    return croniter(cron_expression(schedule), start).get_next(datetime)


def run_dag(dag_id: str, logical_date: str | None, log_dir: Path) -> bool:
    """`airflow dags test` one DAG; its full log goes to a file, a one-line outcome to the screen."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{dag_id}.log"
    command = ["airflow", "dags", "test", dag_id] + ([logical_date] if logical_date else [])
    print(f"$ {' '.join(command)}", flush=True)
    # `airflow dags test` in 3.3.2 crashes on DAGs with deadline alerts (apache/airflow#73428); a demo needs no
    # deadline and no retry delays.
    env = {**os.environ, "MEDIA_DEADLINE_ALERTS": "off", "MEDIA_TASK_RETRIES": "0"}
    with log_path.open("w") as log:
        result = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, env=env, check=False)
    ok = result.returncode == 0
    print(f"  {'success' if ok else 'FAILED'} (log: {log_path})", flush=True)
    if not ok:
        lines = log_path.read_text(errors="replace").splitlines()
        print("\n".join("  | " + line for line in lines[-40:]))
    return ok


def last_task_state(dag_id: str, task_id: str) -> str:
    """State of the task in the DAG's latest run, from the Airflow metadata database."""
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        state = session.scalar(
            select(TaskInstance.state)
            .where(TaskInstance.dag_id == dag_id, TaskInstance.task_id == task_id)
            .order_by(TaskInstance.start_date.desc().nulls_last())
            .limit(1)
        )
    return str(state or "not run")


def summary(warehouse_dsn: str, start: datetime, settings: PlatformSettings) -> str:
    """What an operator wants after a run: records per provider, EIDR IDs, what reporting holds, the docs."""
    import psycopg2

    lines = []
    with psycopg2.connect(warehouse_dsn) as conn, conn.cursor() as cur:
        cur.execute(
            "select provider_id, interval_end, files_read, records_read, records_loaded, records_quarantined"
            " from raw.ingest_batches where interval_start = %s order by provider_id",
            (start,),
        )
        for provider_id, end, files, read, loaded, quarantined in cur.fetchall():
            lines.append(
                f"ingest {provider_id:<12} [{start:%Y-%m-%d %H:%M} .. {end:%Y-%m-%d %H:%M}) UTC: {files} files, "
                f"{read} records read, {loaded} loaded, {quarantined} quarantined"
            )
        cur.execute(
            "select provider_id, reason, count(*) from raw.quarantine where interval_start = %s"
            " group by 1, 2 order by 1, 3 desc",
            (start,),
        )
        for provider_id, reason, count in cur.fetchall():
            lines.append(f"  {provider_id} quarantined x{count}: {reason[:110]}")
        cur.execute("select to_regclass('reporting.titles') is not null")
        if cur.fetchone()[0]:
            cur.execute(
                "select count(*), count(eidr_id_provided), count(*) filter (where eidr_status = 'valid'), "
                "count(*) filter (where eidr_status = 'invalid') from reporting.titles"
            )
            total, present, valid, invalid = cur.fetchone()
            lines.append(f"EIDR IDs in reporting.titles: {present} of {total} sent, {valid} valid, {invalid} invalid")
            lines.append("published in reporting:")
            for table in published_marts(settings.dbt_manifest_path):
                cur.execute("select to_regclass(%s) is not null", (f"reporting.{table}",))
                if not cur.fetchone()[0]:
                    lines.append(f"  reporting.{table}: not published")
                    continue
                cur.execute(f"select count(*) from reporting.{table}")  # noqa: S608 - fixed table names
                lines.append(f"  reporting.{table}: {cur.fetchone()[0]} rows")
            cur.execute("select to_regclass('reporting.eidr_coverage') is not null")
            if cur.fetchone()[0]:
                cur.execute(
                    "select provider_id, sum(assets), sum(mapped), sum(in_review), sum(unmatched), "
                    "sum(invalid_provided) from reporting.eidr_coverage group by 1 order by 1"
                )
                lines.append("EIDR coverage (assets: mapped / in review / unmatched / invalid provided):")
                for provider_id, assets, mapped, review, unmatched, invalid_ids in cur.fetchall():
                    lines.append(f"  {provider_id:<12} {assets}: {mapped} / {review} / {unmatched} / {invalid_ids}")
        else:
            lines.append("reporting: nothing published")
    lines.append(f"GX data docs: {data_docs_index_path(settings.gx_root_dir)}")
    lines.append(f"dbt docs:     {settings.dbt_docs_dir / 'index.html'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--interval-start", required=True, help="UTC date the demo data interval starts at")
    parser.add_argument("--first-day", required=True, help="first day of generated deliveries (YYYY-MM-DD)")
    parser.add_argument("--days", type=int, default=3, help="days of generated deliveries")
    args = parser.parse_args(argv)
    from demo.services import demo_services

    settings = PlatformSettings.from_env()
    configs = load_provider_configs(settings.providers_dir)
    if configs.errors:
        raise SystemExit("\n".join(str(error) for error in configs.errors))
    start = datetime.fromisoformat(args.interval_start).replace(tzinfo=UTC)
    log_dir = settings.artifacts_dir / "demo_logs"
    drop_root = Path(os.environ["MEDIA_DROP_ROOT"])
    with demo_services(drop_root, date.fromisoformat(args.first_day), args.days, seed=7) as service_env:
        os.environ.update(service_env)
        # A manual run's data interval is the one that ends at its logical date (infer_manual_data_interval).
        ingested = [run_dag(c.dag_id, interval_end(c.schedule, start).isoformat(), log_dir) for c in configs.configs]
        published = all(ingested) and run_dag(PUBLISH_DAG_ID, None, log_dir)
    print()
    print(summary(os.environ["WAREHOUSE_DSN"], start, settings))
    audit_state = last_task_state(PUBLISH_DAG_ID, "audit_marts") if all(ingested) else "not run"
    print(f"GX checkpoint audit_marts: {audit_state}" + (" (see the GX data docs)" if audit_state == "failed" else ""))
    print("EIDR review queue: work it in Airflow (make airflow, trigger eidr_review, Browse -> Required Actions)")
    return 0 if published else 1


if __name__ == "__main__":
    sys.exit(main())
