"""Delivery-to-reporting lag on the real Airflow components, against the size of the history (method: LAG.md).

`python -m benchmarks.lag --history 1000000 10000 --deliveries 5` (or `make bench-lag`) runs it in the devenv.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg2
import yaml

from benchmarks import ingest_throughput
from local_stack import devenv
from local_stack.airflow_components import AirflowComponents, running_airflow

PROVIDER = "bench_lag"
DAG_ID = f"ingest_{PROVIDER}"
PUBLISH_DAG_ID = "publish_reporting"
REGISTRY_PROVIDER = "eidr_registry"
ASSET_PREFIX = "LAG"
SCHEDULE = "0 * * * *"  # hourly: short intervals, each delivery its own
DATE_IN_PATH = "%Y-%m-%dT%H"
HISTORY_START = datetime(2026, 11, 1, tzinfo=UTC)
HISTORY_CHUNK = 100_000  # assets per history batch (one hourly folder each)
REGISTRY_DAY = date(2026, 11, 1)
FIRST_DELIVERY_DAY = datetime(2026, 11, 10, tzinfo=UTC)  # history size i delivers on days from here + 5 * i
MODES = ("auto", "trigger", "watch")
MIN_RUNTIME, MAX_RUNTIME = 1, 600  # minutes, the titles suite's bounds (media_platform.audit.suites)


@dataclass
class Delivery:
    """One measured delivery: when its file landed and when all its rows were in reporting, and the runs' steps."""

    index: int
    interval_start: str
    assets: int
    landed_at: float
    visible_at: float
    expected_rows: int
    ingest_run_id: str
    publish_run_id: str | None
    steps: dict[str, float] = field(default_factory=dict)
    load_average: float = 0.0  # the machine's 1-minute load when the rows became visible (others share the CPUs)

    @property
    def lag_seconds(self) -> float:
        return self.visible_at - self.landed_at


@dataclass
class HistoryResult:
    """Every delivery measured at one history size, the no-change publish and the set-up times."""

    history: int
    mode: str
    deliveries: list[Delivery] = field(default_factory=list)
    no_change_publish_seconds: float | None = None
    no_change_steps: dict[str, float] = field(default_factory=dict)
    setup_seconds: dict[str, float] = field(default_factory=dict)
    foreign_runs: list[str] = field(default_factory=list)

    @property
    def lags(self) -> list[float]:
        return [d.lag_seconds for d in self.deliveries]

    def step_medians(self) -> dict[str, float]:
        """Median seconds per step over the deliveries (steps missing from a delivery are left out of it)."""
        names = sorted({name for d in self.deliveries for name in d.steps}, key=_step_order)
        return {name: statistics.median(d.steps[name] for d in self.deliveries if name in d.steps) for name in names}

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["lags"] = self.lags
        data["p50"], data["p95"] = percentile(self.lags, 50), percentile(self.lags, 95)
        data["step_medians"] = self.step_medians()
        return data


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile by linear interpolation between the closest ranks (numpy's default method)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _step_order(name: str) -> tuple[int, str]:
    order = ("wait", "ingest", "publish")
    return (next((i for i, prefix in enumerate(order) if name.startswith(prefix)), len(order)), name)


def asset_id(index: int) -> str:
    return f"{ASSET_PREFIX}{index:09d}"


def delivery_rows(first: int, count: int) -> list[dict[str, Any]]:
    """`count` title records numbered from `first`: the ingest benchmark's generator, with asset and EIDR IDs of
    their own so every delivery brings new assets, and only runtimes the publish audit accepts (clean deliveries:
    the benchmark measures the path of good data)."""
    rows = ingest_throughput.title_rows(count)
    for offset, row in enumerate(rows):
        row["provider_asset_id"] = asset_id(first + offset)
        row["eidr_id"] = ingest_throughput._eidr(first + offset)  # noqa: SLF001 - the same ID mix
        if not MIN_RUNTIME <= (row["runtime_minutes"] or MIN_RUNTIME) <= MAX_RUNTIME:
            row["runtime_minutes"] = None  # a few films of the list run for days; the audit would stop them all
    return rows


def interval_folder(start: datetime) -> str:
    return start.strftime(DATE_IN_PATH)


def provider_yaml(watch: bool) -> str:
    """The benchmark provider: CSV titles in a local drop folder, hourly, the ingest benchmark's column mapping."""
    source: dict[str, Any] = {
        "transport": "local",
        "location": PROVIDER,
        "file_glob": "*.csv",
        "date_in_path": DATE_IN_PATH,
    }
    if watch:
        source["watch"] = True
    config = {
        "provider_id": PROVIDER,
        "display_name": "Lag benchmark provider",
        "description": "Generated CSV title deliveries for the lag benchmark (dev/benchmarks/lag.py).",
        "format": "csv",
        "source": source,
        "schedule": SCHEDULE,
        "start_date": "2026-11-01",
        "owner": "data-platform",
        "alert_channel": "slack:#media-data-alerts",
        "deadline": "2h",
        "retries": 0,
        "format_options": ingest_throughput.CSV_OPTIONS,
    }
    return yaml.safe_dump(config, sort_keys=False)


def watch_supported() -> bool:
    """Whether the provider config knows `source.watch` (event-driven ingestion); checked, never assumed."""
    from media_platform.config.provider import SourceConfig

    return "watch" in SourceConfig.model_fields


def resolve_mode(requested: str) -> str:
    """`auto` watches when the platform supports it and triggers the interval's run otherwise."""
    if requested == "auto":
        return "watch" if watch_supported() else "trigger"
    if requested == "watch" and not watch_supported():
        raise SystemExit("--mode watch: this platform's provider config has no source.watch")
    return requested


def write_providers(folder: Path, mode: str) -> None:
    """The benchmark provider and the EIDR registry mirror (the matcher's reference), nothing else."""
    from media_platform.config.provider import load_provider_config

    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.yaml"):
        old.unlink()
    (folder / f"{PROVIDER}.yaml").write_text(provider_yaml(mode == "watch"), encoding="utf-8")
    shutil.copy(devenv.PROJECT_ROOT / "include" / "providers" / f"{REGISTRY_PROVIDER}.yaml", folder)
    for path in folder.glob("*.yaml"):
        load_provider_config(path)  # fails here, naming the field, rather than as a DAG import error


def _admin(server: str, *statements: str) -> None:
    conn = psycopg2.connect(server + "/postgres")
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            for sql in statements:
                cur.execute(sql)
    finally:
        conn.close()


def recreate_database(server: str, name: str) -> str:
    """Drop and create database `name` on the server; returns its URL."""
    _admin(server, f'drop database if exists "{name}" with (force)', f'create database "{name}"')
    return f"{server}/{name}"


def warehouse_env(base: Mapping[str, str], dsn: str) -> dict[str, str]:
    """`base` pointed at the warehouse `dsn` (the ingest CLI, dbt, GX and the Airflow connection)."""
    from urllib.parse import urlsplit

    parts = urlsplit(dsn)
    return {
        **base,
        "WAREHOUSE_DSN": dsn,
        "AIRFLOW_CONN_WAREHOUSE": dsn,
        "AIRFLOW_CONN_WAREHOUSE_INGEST": dsn,
        "AIRFLOW_CONN_WAREHOUSE_PUBLISH": dsn,
        "WAREHOUSE_HOST": parts.hostname or "127.0.0.1",
        "WAREHOUSE_PORT": str(parts.port or 5432),
        "WAREHOUSE_USER": parts.username or "postgres",
        "WAREHOUSE_PASSWORD": parts.password or "",
        "WAREHOUSE_DB": parts.path.lstrip("/"),
    }


def ingest_cli(
    env: Mapping[str, str], provider: str, source_format: str, location: str, start: datetime, end: datetime,
    file_glob: str, date_in_path: str, format_options: Any = None,
) -> dict[str, Any]:  # fmt: skip
    """One `python -m ingest run` for an interval, as extract_load runs it; returns the CLI's JSON summary."""
    from ingest import contract

    args = contract.run_arguments(
        provider, source_format, location, start.isoformat(), end.isoformat(),
        file_glob=file_glob, date_in_path=date_in_path, format_options=format_options,
    )  # fmt: skip
    done = subprocess.run(  # noqa: S603 - the project's own CLI
        [sys.executable, "-m", "ingest", *args], env=dict(env), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"ingest {provider} [{start}, {end}) failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def load_history(env: Mapping[str, str], drop_root: Path, history: int, log: Any) -> dict[str, float]:
    """Fill raw with the registry mirror and `history` assets through the ingest CLI, in batches of HISTORY_CHUNK
    (one hourly folder each): big files, a few runs, not one DAG run per delivery."""
    from demo_feeds.eidr_registry import write_demo_registry
    from ingest.load import warehouse

    conn = warehouse.connect(env["WAREHOUSE_DSN"])
    try:
        warehouse.ensure_tables(conn)  # every format's raw table, so every staging view has its source
    finally:
        conn.close()
    times: dict[str, float] = {}
    clock = time.perf_counter()
    write_demo_registry(drop_root / REGISTRY_PROVIDER, REGISTRY_DAY)
    start = datetime(REGISTRY_DAY.year, REGISTRY_DAY.month, REGISTRY_DAY.day, tzinfo=UTC)
    summary = ingest_cli(
        env, REGISTRY_PROVIDER, "eidr_registry", REGISTRY_PROVIDER, start, start + timedelta(days=1), "*.csv",
        "%Y-%m-%d",
    )  # fmt: skip
    times["registry_load"] = time.perf_counter() - clock
    log(f"  registry mirror: {summary.get('records_loaded', summary)} records")
    clock = time.perf_counter()
    for number, first in enumerate(range(0, history, HISTORY_CHUNK)):
        count = min(HISTORY_CHUNK, history - first)
        interval = HISTORY_START + timedelta(hours=number)
        folder = drop_root / PROVIDER / interval_folder(interval)
        folder.mkdir(parents=True, exist_ok=True)
        ingest_throughput.write_csv(delivery_rows(first, count), folder)
        ingest_cli(
            env, PROVIDER, "csv", PROVIDER, interval, interval + timedelta(hours=1), "*.csv", DATE_IN_PATH,
            ingest_throughput.CSV_OPTIONS,
        )  # fmt: skip
        shutil.rmtree(folder)  # loaded; the ledger keeps it from loading again, and the disk stays small
    times["history_load"] = time.perf_counter() - clock
    log(f"  history: {history} assets loaded in {times['history_load']:.1f}s")
    return times


def _parse_time(value: str | None) -> float | None:
    return datetime.fromisoformat(value).timestamp() if value else None


def run_steps(airflow: AirflowComponents, dag_id: str, run_id: str, prefix: str) -> dict[str, float]:
    """Seconds per task of one run, from Airflow's task instances (start to end), keyed `<prefix>.<task_id>`, and
    the whole run (`<prefix>` alone)."""
    steps: dict[str, float] = {}
    for ti in airflow.task_instances(dag_id, run_id):
        start, end = _parse_time(ti.get("start_date")), _parse_time(ti.get("end_date"))
        if start is not None and end is not None:
            steps[f"{prefix}.{ti['task_id']}"] = end - start
    run = airflow.dag_run(dag_id, run_id)
    start, end = _parse_time(run.get("start_date")), _parse_time(run.get("end_date"))
    if start is not None and end is not None:
        steps[prefix] = end - start
    return steps


def publish_run_after(airflow: AirflowComponents, after: float) -> dict[str, Any] | None:
    """The first publish_reporting run that started at or after `after` (epoch seconds)."""
    runs = [r for r in airflow.dag_runs(PUBLISH_DAG_ID) if (_parse_time(r.get("start_date")) or 0) >= after - 0.5]
    return min(runs, key=lambda r: _parse_time(r["start_date"]) or 0) if runs else None


def visible_rows(cur: Any, first: int, count: int) -> int:
    """How many of the delivery's assets `reporting.titles` shows (0 while the table does not exist)."""
    cur.execute("select to_regclass('reporting.titles') is not null")
    if not cur.fetchone()[0]:
        return 0
    cur.execute(
        "select count(*) from reporting.titles where provider_id = %s and provider_asset_id between %s and %s",
        (PROVIDER, asset_id(first), asset_id(first + count - 1)),
    )
    return int(cur.fetchone()[0])


def loaded_rows(cur: Any, start: datetime) -> int | None:
    """records_loaded of the provider's batch for the interval starting at `start`, once it exists."""
    cur.execute(
        "select records_loaded from raw.ingest_batches where provider_id = %s and interval_start = %s",
        (PROVIDER, start),
    )
    rows = cur.fetchall()
    return int(rows[-1][0]) if rows else None


def measure_delivery(
    airflow: AirflowComponents, dsn: str, drop_root: Path, staging: Path, index: int, first: int, count: int,
    start: datetime, mode: str, stamp: str, timeout: float,
) -> Delivery:  # fmt: skip
    """Land one delivery (a folder renamed into the drop folder), start its run unless the platform watches, and
    poll reporting until every loaded row of it is there."""
    if mode == "watch":
        start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    ready = staging / interval_folder(start)
    ready.mkdir(parents=True)
    ingest_throughput.write_csv(delivery_rows(first, count), ready)
    target = drop_root / PROVIDER / interval_folder(start)
    run_id = f"lag_{stamp}_{index:03d}"
    landed_at = time.time()
    if target.exists():  # watch mode, several deliveries in one hour
        for path in ready.iterdir():
            path.rename(target / f"d{index:03d}-{path.name}")
        ready.rmdir()
    else:
        ready.rename(target)
    if mode == "trigger":
        end = start + timedelta(hours=1)
        airflow.trigger(DAG_ID, run_id, start.isoformat(), (start.isoformat(), end.isoformat()))
    expected: int | None = None
    deadline = time.monotonic() + timeout
    conn = psycopg2.connect(dsn)
    conn.autocommit = True  # each poll sees what is committed now
    try:
        with conn.cursor() as cur:
            while True:
                if expected is None:
                    expected = loaded_rows(cur, start) if mode == "trigger" else None
                seen = visible_rows(cur, first, count)
                if seen >= (expected if expected is not None else count) and (expected is not None or mode == "watch"):
                    visible_at = time.time()
                    load = os.getloadavg()[0]
                    break
                if time.monotonic() > deadline:
                    raise SystemExit(
                        f"delivery {index}: {seen} of {expected or count} rows in reporting after {timeout}s"
                    )
                airflow.check_alive()
                time.sleep(0.25)
    finally:
        conn.close()
    if mode == "watch":
        runs = [r for r in airflow.dag_runs(DAG_ID) if (_parse_time(r.get("start_date")) or 0) >= landed_at - 1]
        run_id = runs[0]["dag_run_id"] if runs else "?"
    airflow.wait_until_idle([DAG_ID, PUBLISH_DAG_ID])
    steps: dict[str, float] = {}
    ingest_run = airflow.dag_run(DAG_ID, run_id) if run_id != "?" else {}
    ingest_start, ingest_end = _parse_time(ingest_run.get("start_date")), _parse_time(ingest_run.get("end_date"))
    publish_id = None
    if ingest_start is not None and ingest_end is not None:
        steps["wait.landed_to_ingest_start"] = ingest_start - landed_at
        steps.update(run_steps(airflow, DAG_ID, run_id, "ingest"))
        publish = publish_run_after(airflow, ingest_end)
        if publish is not None:
            publish_id = publish["dag_run_id"]
            steps["wait.ingest_end_to_publish_start"] = (_parse_time(publish["start_date"]) or 0) - ingest_end
            steps.update(run_steps(airflow, PUBLISH_DAG_ID, publish_id, "publish"))
            steps["wait.publish_start_to_visible"] = visible_at - (_parse_time(publish["start_date"]) or 0)
    return Delivery(
        index, start.isoformat(), count, landed_at, visible_at, expected or count, run_id, publish_id, steps, load
    )


def no_change_publish(airflow: AirflowComponents, stamp: str) -> tuple[float, dict[str, float]]:
    """Trigger publish_reporting with nothing new since the last publish and time the run (start to end)."""
    run_id = f"lag_{stamp}_no_change"
    airflow.trigger(PUBLISH_DAG_ID, run_id)
    run = airflow.wait_for_run(PUBLISH_DAG_ID, run_id)
    if run["state"] != "success":
        raise SystemExit(f"no-change publish {run_id} ended {run['state']}")
    steps = run_steps(airflow, PUBLISH_DAG_ID, run_id, "publish")
    return steps["publish"], steps


@contextmanager
def bench_airflow(base: Mapping[str, str], work: Path, log: Any) -> Iterator[tuple[dict[str, str], str]]:
    """A metadata DB of the benchmark's own, migrated, with the project's pools; yields (env, database server)."""
    warehouse_url, metadata_url = devenv.database_urls()
    server = metadata_url.rsplit("/", 1)[0]
    metadata = recreate_database(server, "bench_lag_airflow")
    home = work / "airflow"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    env = {
        **base,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata.replace("postgresql://", "postgresql+psycopg2://", 1),
        "MEDIA_PROVIDERS_DIR": str(work / "providers"),
        "MEDIA_DROP_ROOT": str(work / "drop"),
        "MEDIA_ARTIFACTS_DIR": str(work / "artifacts"),
        "MEDIA_TASK_RETRIES": "0",
    }
    clock = time.perf_counter()
    for command in (["airflow", "db", "migrate"], ["local_stack.airflow_settings"]):
        done = subprocess.run(  # noqa: S603
            [sys.executable, "-m", *command], env=env, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}{done.stderr[-3000:]}")
    log(f"metadata DB bench_lag_airflow migrated in {time.perf_counter() - clock:.0f}s")
    yield env, server


def measure_history(
    base: dict[str, str], server: str, work: Path, number: int, history: int, deliveries: int, assets: int,
    mode: str, timeout: float, keep: bool, log: Any,
) -> HistoryResult:  # fmt: skip
    """Build a warehouse with `history` assets, start Airflow on it, and measure `deliveries` deliveries."""
    result = HistoryResult(history, mode)
    name = f"bench_lag_warehouse_{number}"
    dsn = recreate_database(server, name)
    env = warehouse_env(base, dsn)
    drop_root = Path(env["MEDIA_DROP_ROOT"])
    shutil.rmtree(drop_root, ignore_errors=True)
    (drop_root / PROVIDER).mkdir(parents=True)
    staging = work / "landing"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    log(f"history {history}: warehouse {name}")
    result.setup_seconds.update(load_history(env, drop_root, history, log))
    stamp = f"{datetime.now(UTC):%Y%m%dT%H%M%S}_h{history}"
    try:
        with running_airflow(env, work / "logs" / f"h{history}") as airflow:
            airflow.wait_for_dags([DAG_ID, PUBLISH_DAG_ID])
            clock = time.perf_counter()
            airflow.unpause(PUBLISH_DAG_ID)
            first_publish = f"lag_{stamp}_history"
            airflow.trigger(PUBLISH_DAG_ID, first_publish)
            run = airflow.wait_for_run(PUBLISH_DAG_ID, first_publish, timeout=4 * 3600)
            if run["state"] != "success":
                raise SystemExit(f"the history publish ended {run['state']}; see {work / 'logs'}")
            result.setup_seconds["history_publish"] = time.perf_counter() - clock
            log(f"  history published in {result.setup_seconds['history_publish']:.0f}s")
            airflow.unpause(DAG_ID)  # its one catch-up-free scheduled run (an empty hour) goes first
            time.sleep(5)
            airflow.wait_until_idle([DAG_ID, PUBLISH_DAG_ID])
            base_day = FIRST_DELIVERY_DAY + timedelta(days=5 * number)
            for index in range(deliveries):
                first = history + index * assets
                start = base_day + timedelta(hours=index)
                delivery = measure_delivery(
                    airflow, dsn, drop_root, staging, index, first, assets, start, mode, stamp, timeout
                )
                result.deliveries.append(delivery)
                log(f"  delivery {index + 1}/{deliveries}: {delivery.lag_seconds:.1f}s lag")
            result.no_change_publish_seconds, result.no_change_steps = no_change_publish(airflow, stamp)
            log(f"  no-change publish: {result.no_change_publish_seconds:.1f}s")
            ours = {d.ingest_run_id for d in result.deliveries}
            first_landed = min(d.landed_at for d in result.deliveries)
            result.foreign_runs = [
                r["dag_run_id"] for r in airflow.dag_runs(DAG_ID)
                if r["dag_run_id"] not in ours and (_parse_time(r.get("end_date")) or time.time()) > first_landed
            ]  # fmt: skip
    finally:
        if not keep:
            _admin(server, f'drop database if exists "{name}" with (force)')
    return result


def report(results: Sequence[HistoryResult]) -> str:
    """Plain-text figures: lag per history size (p50, p95), the ratio largest/smallest, no-change publish, steps."""
    lines = [f"{'history':>10} {'mode':>8} {'n':>3} {'p50 s':>8} {'p95 s':>8} {'min s':>8} {'max s':>8} "
             f"{'no-change publish s':>20} {'load':>5}"]  # fmt: skip
    for r in results:
        lags = r.lags
        lines.append(
            f"{r.history:>10} {r.mode:>8} {len(lags):>3} {percentile(lags, 50):>8.1f} {percentile(lags, 95):>8.1f} "
            f"{min(lags, default=float('nan')):>8.1f} {max(lags, default=float('nan')):>8.1f} "
            f"{r.no_change_publish_seconds or float('nan'):>20.1f} "
            f"{statistics.median(d.load_average for d in r.deliveries) if r.deliveries else float('nan'):>5.1f}"
        )
    if len(results) >= 2:
        big, small = max(results, key=lambda r: r.history), min(results, key=lambda r: r.history)
        for q in (50, 95):
            ratio = percentile(big.lags, q) / percentile(small.lags, q)
            lines.append(f"ratio p{q} {big.history}/{small.history}: {ratio:.2f}")
    medians = [r.step_medians() for r in results]
    names = sorted({n for m in medians for n in m}, key=_step_order)
    order = sorted(range(len(results)), key=lambda i: results[i].history)
    if names:
        header = "".join(f" {'h=' + str(r.history):>12}" for r in results)
        ratio_header = f" {'ratio':>7}" if len(results) >= 2 else ""
        lines += ["", f"{'step (median s over deliveries)':<44}{header}{ratio_header}"]
        for name in names:
            cells = "".join(f" {m.get(name, float('nan')):>12.1f}" for m in medians)
            if len(results) >= 2:
                big, small = medians[order[-1]].get(name), medians[order[0]].get(name)
                cells += f" {big / small:>7.2f}" if big is not None and small else f" {'':>7}"
            lines.append(f"{name:<44}{cells}")
        lines.append(f"{'no-change publish_reporting run':<44}" + "".join(
            f" {r.no_change_publish_seconds or float('nan'):>12.1f}" for r in results))  # fmt: skip
    lines.append("(load: median 1-minute load average of the machine as each delivery became visible, 2 CPUs)")
    for r in results:
        setup = ", ".join(f"{k} {v:.0f}s" for k, v in r.setup_seconds.items())
        lines.append(f"h={r.history} set-up: {setup}")
    for r in results:
        if r.foreign_runs:
            lines.append(f"h={r.history}: runs the harness did not start: {', '.join(r.foreign_runs)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark for each history size and print the figures; --json-out also writes them."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.lag", description=__doc__)
    parser.add_argument("--history", type=int, nargs="+", default=[1_000_000, 10_000], help="assets of history")
    parser.add_argument("--deliveries", type=int, default=5, help="deliveries measured per history size")
    parser.add_argument("--delivery-assets", type=int, default=10_000, help="assets per delivery")
    parser.add_argument("--mode", choices=MODES, default="auto", help="watch: the platform starts the run")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds a delivery may take")
    parser.add_argument("--work-dir", type=Path, default=devenv.LOCAL_DIR / "bench_lag")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark's warehouse databases")
    parser.add_argument("--json-out", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args(argv)
    if args.deliveries < 1 or args.delivery_assets < 1 or min(args.history) < 0:
        parser.error("--deliveries and --delivery-assets must be at least 1, --history not negative")
    mode = resolve_mode(args.mode)

    def log(line: str) -> None:
        print(line, flush=True)

    work = args.work_dir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    write_providers(work / "providers", mode)
    log(f"mode: {mode} ({'the platform watches the drop folder' if mode == 'watch' else 'the harness triggers'})")
    results = []
    with bench_airflow(dict(os.environ), work, log) as (env, server):
        for number, history in enumerate(args.history):
            results.append(
                measure_history(
                    env, server, work, number, history, args.deliveries, args.delivery_assets, mode,
                    args.timeout, args.keep, log,
                )
            )  # fmt: skip
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {args.delivery_assets} assets per delivery")
    print(report(results))
    if args.json_out:
        args.json_out.write_text(json.dumps([r.to_dict() for r in results], indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
