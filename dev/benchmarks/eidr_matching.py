"""EIDR matching benchmark: N new assets, then 10k deltas, against a synthetic registry of M titles, in PostgreSQL.

`python -m benchmarks.eidr_matching --assets 100000 --registry 1000000` prints time and peak memory of each run, each
one through the match_eidr task's own path; method and figures in dev/benchmarks/EIDR_MATCHING.md. `--in-memory`
runs the earlier matcher-only benchmark.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.eidr_evaluation import noise, typo
from demo_feeds.eidr_registry import COUNTRIES, FIRST, LAST, load_registry_films
from eidr_matching.models import Asset, RegistryRecord
from eidr_matching.scoring import Band, MatchConfig

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass(frozen=True)
class BenchmarkResult:
    """Sizes, seconds for indexing and matching, throughput, and how the matched assets fared."""

    assets: int
    registry: int
    workers: int
    seconds: float
    bands: dict[str, int]
    auto_accept_correct: int
    recall: float

    def render(self) -> str:
        """What `python -m benchmarks.eidr_matching` prints."""
        auto = self.bands.get(Band.AUTO_ACCEPT, 0)
        return (
            f"benchmark: {self.assets} assets against {self.registry} registry titles, {self.workers} worker(s)\n"
            f"  {self.seconds:.1f} s (indexing the registry and matching), "
            f"{self.assets / self.seconds if self.seconds else 0:.0f} assets/s\n"
            f"  bands {dict(sorted(self.bands.items()))}; auto-accept precision "
            f"{self.auto_accept_correct / auto if auto else 1:.4f}; recall (auto + review) {self.recall:.4f}"
        )


def _fast_check(hex20: str) -> str:
    """ISO 7064 MOD 37,36 check character (same result as stdnum's mod_37_36, inlined for 1M IDs)."""
    check = 18
    for char in hex20:
        check = (((check or 36) * 2) % 37 + _ALPHABET.index(char)) % 36
    return _ALPHABET[(1 - ((check or 36) * 2) % 37) % 36]


def synthetic_registry(size: int, seed: int = 5) -> list[RegistryRecord]:
    """`size` films: titles drawn from the ggplot2movies vocabulary (real word frequencies), valid random IDs."""
    rng = random.Random(seed)
    films = load_registry_films(7)
    words = Counter(w for f in films for w in f.title.split() if w.isalpha())
    vocabulary = list(words)
    cumulative = list(itertools.accumulate(words.values()))
    lengths = rng.choices((1, 2, 3, 4, 5, 6), weights=(18, 30, 24, 14, 8, 6), k=size)
    records: list[RegistryRecord] = []
    for i, n in enumerate(lengths):
        if i < len(films):
            f = films[i]
            title, year, minutes, director = f.title, f.year, f.minutes, f.directors[0]
        else:
            title = " ".join(rng.choices(vocabulary, cum_weights=cumulative, k=n))
            year = rng.randint(1910, 2025)
            minutes = rng.randint(70, 160)
            director = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        hex20 = f"{rng.getrandbits(80):020X}"
        records.append(
            RegistryRecord(
                eidr_id=f"10.5240/{hex20[0:4]}-{hex20[4:8]}-{hex20[8:12]}-{hex20[12:16]}-{hex20[16:20]}-"
                f"{_fast_check(hex20)}",
                resource_name=title,
                referent_type="Movie",
                structural_type="Abstraction",
                release_year=year,
                length_minutes=minutes,
                country=rng.choice(COUNTRIES),
                directors=director,
            )
        )
    return records


def synthetic_assets(registry: list[RegistryRecord], count: int, seed: int = 6) -> list[tuple[Asset, str | None]]:
    """Assets with their truth: 85% registry titles perturbed (typos, noise, year or runtime off), 15% unknown."""
    rng = random.Random(seed)
    out: list[tuple[Asset, str | None]] = []
    for i in range(count):
        record = rng.choice(registry)
        title, year, minutes = record.resource_name, record.release_year, record.length_minutes
        truth: str | None = record.eidr_id
        roll = rng.random()
        if roll < 0.15:
            title = f"{title} {rng.choice(('Returns', 'Rising', 'Forever', 'Unbound'))} {rng.randint(2, 9)}"
            truth = None
        elif roll < 0.35:
            title = typo(rng, title)
        elif roll < 0.5:
            title = noise(rng, title)
        elif roll < 0.6 and year:
            year += rng.choice((-1, 1))
        elif roll < 0.7 and minutes:
            minutes += rng.randint(-6, 6)
        asset = Asset(
            asset_key=f"bench-{i:07d}",
            title=title,
            release_year=year,
            runtime_minutes=minutes,
            directors=record.directors if rng.random() < 0.5 else None,
        )
        out.append((asset, truth))
    return out


def run_benchmark(assets: int = 100_000, registry: int = 1_000_000, seed: int = 5, workers: int = 2) -> BenchmarkResult:
    """Generate (untimed), then time indexing and matching every asset (one year shard per worker when > 1)."""
    from eidr_matching.parallel import match_all

    records = synthetic_registry(registry, seed)
    labelled = synthetic_assets(records, assets, seed + 1)
    started = time.perf_counter()
    decisions = match_all(records, [a for a, _ in labelled], MatchConfig(), workers)
    done = time.perf_counter()
    bands: Counter[str] = Counter()
    correct = found = positives = 0
    for (_, truth), decision in zip(labelled, decisions, strict=True):
        bands[str(decision.band)] += 1
        if decision.band == Band.AUTO_ACCEPT and decision.eidr_id == truth:
            correct += 1
        if truth is not None:
            positives += 1
            top = decision.eidr_id or decision.top_candidate
            found += decision.band in (Band.AUTO_ACCEPT, Band.REVIEW) and top == truth
    return BenchmarkResult(
        assets, len(records), workers, done - started, dict(bands), correct, found / positives if positives else 1.0
    )


BENCH_DATABASE = "eidr_matching_bench"
BENCH_PROVIDER = "eidr_matching_bench"
ASSETS_RELATION = "bench_eidr.assets"
PIPELINE_WORKERS_ENV = "MEDIA_MATCH_WORKERS"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
_T0 = datetime(2026, 11, 1, tzinfo=UTC)


@dataclass(frozen=True)
class RunFigures:
    """One matcher run (a child process): wall seconds, peak memory, and its JSON summary."""

    name: str
    seconds: float
    peak_pss_mb: float  # the process and its workers together, shared pages counted once
    peak_rss_mb: float  # the matcher process alone (its high-water mark)
    summary: dict[str, Any]

    def render(self) -> str:
        """One line of the printed table."""
        s = self.summary
        return (
            f"  {self.name:<44} {self.seconds:8.1f} s  PSS {self.peak_pss_mb:7.0f} MB  RSS {self.peak_rss_mb:7.0f} MB"
            f"  matched {s.get('assets_matched', '?'):>8}  changed {s.get('results_changed', '-'):>8}"
            f"  full {s.get('full', '-')}  workers {s.get('workers', 1)}  index {s.get('index_seconds', '-')} s"
            f" (from cache: {s.get('index_from_cache', '-')})"
        )


def bench_dsn(dsn: str) -> str:
    """The benchmark's own database on the server of `dsn` (created if missing), so no real data is touched."""
    import psycopg2

    base, _, _ = dsn.rpartition("/")
    admin = psycopg2.connect(f"{base}/postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("select 1 from pg_database where datname = %s", (BENCH_DATABASE,))
        if cur.fetchone() is None:
            cur.execute(f'create database "{BENCH_DATABASE}"')
    admin.close()
    return f"{base}/{BENCH_DATABASE}"


def _copy(conn: Any, table: str, columns: Sequence[str], rows: Any) -> None:
    from ingest.load.copy_csv import CopyStream

    with conn.cursor() as cur:
        cur.copy_expert(f"copy {table} ({', '.join(columns)}) from stdin with (format csv)", CopyStream(rows))


def load_bench_registry(conn: Any, records: Sequence[RegistryRecord]) -> None:
    """The registry as raw.eidr_registry rows of one delivery (COPY; what the eidr_registry ingest writes)."""
    from ingest.load import warehouse
    from ingest.parse.formats import get_format

    warehouse.ensure_tables(conn, get_format("eidr_registry"))
    columns = (
        "batch_id", "provider_id", "interval_start", "interval_end", "source_file", "source_location", "loaded_at",
        "record_hash", "eidr_id", "resource_name", "alternate_names", "referent_type", "structural_type",
        "release_year", "approximate_length_minutes", "country_of_origin", "directors", "registry_status", "record",
    )  # fmt: skip
    end = _T0 + timedelta(days=1)
    rows = (
        (
            "bench-registry", BENCH_PROVIDER, _T0, end, "registry.csv", f"row {i}", _T0, f"h{i}", r.eidr_id,
            r.resource_name, "[]", r.referent_type, r.structural_type, r.release_year, r.length_minutes, r.country,
            r.directors, "valid", "{}",
        )
        for i, r in enumerate(records)
    )  # fmt: skip
    with conn:
        with conn.cursor() as cur:
            cur.execute("truncate raw.eidr_registry")
            # the delivery's batch row, as ingest writes it: the task's path re-matches everything after it
            cur.execute("delete from raw.ingest_batches where batch_id = 'bench-registry'")
            cur.execute(
                "insert into raw.ingest_batches values ('bench-registry', 'eidr_registry', 'eidr_registry', %s, %s,"
                " 1, %s, %s, 0, 0, %s, %s)",
                (_T0, end, len(records), len(records), _T0, _T0),
            )
        _copy(conn, "raw.eidr_registry", columns, rows)


_ASSET_COLUMNS = (
    "asset_key", "provider_id", "title", "release_year", "runtime_minutes", "directors", "eidr_status", "updated_at",
)  # fmt: skip


def add_bench_assets(conn: Any, assets: Sequence[Asset], loaded_at: datetime, fresh: bool = False) -> None:
    """Append assets to bench_eidr.assets (shaped like intermediate.int_titles_for_matching); fresh: start empty."""
    with conn:
        with conn.cursor() as cur:
            if fresh:
                cur.execute("drop schema if exists bench_eidr cascade; create schema bench_eidr")
                cur.execute(
                    "create table bench_eidr.assets (asset_key text primary key, provider_id text, title text,"
                    " alternate_titles jsonb, release_year int, runtime_minutes int, directors text, country text,"
                    " series_title text, season_number int, episode_number int, eidr_id text, eidr_status text,"
                    " updated_at timestamptz)"
                )
        rows = (
            (a.asset_key, "bench", a.title, a.release_year, a.runtime_minutes, a.directors, "missing", loaded_at)
            for a in assets
        )
        _copy(conn, ASSETS_RELATION, _ASSET_COLUMNS, rows)
        with conn.cursor() as cur:
            cur.execute(f"analyze {ASSETS_RELATION}")


def _tree(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                todo += [int(c) for c in Path(f"/proc/{current}/task/{task}/children").read_text().split()]
        except OSError:
            continue
    return found


def _status_kb(path: str, field: str) -> int:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure_run(name: str, command: Sequence[str], env: dict[str, str]) -> RunFigures:
    """Run one matcher process; sample its process tree's PSS and its own high-water RSS every 0.2 s."""
    peak = {"pss": 0, "rss": 0}
    started = time.perf_counter()
    process = subprocess.Popen(list(command), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def sample() -> None:
        while process.poll() is None:
            pss = sum(_status_kb(f"/proc/{pid}/smaps_rollup", "Pss:") for pid in _tree(process.pid))
            peak["pss"] = max(peak["pss"], pss)
            peak["rss"] = max(peak["rss"], _status_kb(f"/proc/{process.pid}/status", "VmHWM:"))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = process.communicate()
    seconds = time.perf_counter() - started
    sampler.join()
    if process.returncode != 0:
        raise RuntimeError(f"{name} failed ({process.returncode}): {err.strip().splitlines()[-3:]}")
    summary = json.loads(out.strip().splitlines()[-1])
    figures = RunFigures(name, seconds, peak["pss"] / 1024, peak["rss"] / 1024, summary)
    print(figures.render(), flush=True)
    for line in err.splitlines():
        if "registry index" in line:
            print("      " + line.split(": ", 1)[-1], flush=True)
    return figures


def measure_pipeline_run(name: str, dsn: str, cache_dir: Path, assets_relation: str = ASSETS_RELATION) -> RunFigures:
    """One run of the pipeline's match_eidr path (media_platform.tasks.matching.match_in_child: the same full or
    incremental choice, command, workers setting and child process as the task), sampled like measure_run."""
    from media_platform.tasks.matching import match_in_child

    peak = {"pss": 0, "rss": 0}
    lines: list[str] = []
    samplers: list[threading.Thread] = []

    def on_start(process: subprocess.Popen[str]) -> None:
        def sample() -> None:
            while process.poll() is None:
                pss = sum(_status_kb(f"/proc/{pid}/smaps_rollup", "Pss:") for pid in _tree(process.pid))
                peak["pss"] = max(peak["pss"], pss)
                peak["rss"] = max(peak["rss"], _status_kb(f"/proc/{process.pid}/status", "VmHWM:"))
                time.sleep(0.2)

        samplers.append(threading.Thread(target=sample, daemon=True))
        samplers[-1].start()

    started = time.perf_counter()
    summary = match_in_child(dsn, cache_dir, lines.append, assets_relation, on_start)
    seconds = time.perf_counter() - started
    for sampler in samplers:
        sampler.join()
    figures = RunFigures(name, seconds, peak["pss"] / 1024, peak["rss"] / 1024, summary)
    print(figures.render(), flush=True)
    for line in lines:
        if "registry index" in line:
            print("      " + line.split(": ", 1)[-1], flush=True)
    return figures


def _baseline_package(ref: str, into: Path) -> Path:
    """The eidr_matching package as it was at a git ref (the earlier code path, for before/after ratios)."""
    archive = subprocess.run(
        ["git", "-C", str(PROJECT_ROOT), "archive", ref, "include/eidr_matching"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "include"


def run_warehouse_benchmark(
    assets: int,
    registry: int,
    delta: int,
    workers: int | None,
    chunk_size: int | None,
    dsn: str,
    baseline_ref: str | None = None,
    seed: int = 5,
) -> list[RunFigures]:
    """Load a registry and N assets into the benchmark database, then time the runs the pipeline makes.

    New code: the first match of N new assets (index built and cached), a delta of `delta` new assets with the
    cached index and without it, and a re-run with nothing new. With baseline_ref, the same first match and delta
    with that ref's code (run as it ran in the pipeline: one process).
    """
    import psycopg2

    target = bench_dsn(dsn)
    records = synthetic_registry(registry, seed)
    labelled = synthetic_assets(records, assets + 3 * delta, seed + 1)
    everything = [a for a, _ in labelled]
    base, deltas = everything[:assets], [everything[assets + k * delta : assets + (k + 1) * delta] for k in range(3)]
    conn = psycopg2.connect(target)
    load_bench_registry(conn, records)
    del records, labelled
    env = {**os.environ, "WAREHOUSE_DSN": target, "PYTHONPATH": str(PROJECT_ROOT / "include")}
    figures: list[RunFigures] = []
    with tempfile.TemporaryDirectory(prefix="eidr-bench-") as tmp:
        cache = Path(tmp) / "index"
        if workers:
            os.environ[PIPELINE_WORKERS_ENV] = str(workers)  # what the task reads (MEDIA_MATCH_WORKERS)

        def fresh() -> None:
            with conn, conn.cursor() as cur:
                cur.execute("drop schema if exists eidr cascade")
            add_bench_assets(conn, base, _T0, fresh=True)

        fresh()
        figures.append(measure_pipeline_run(f"new: first match of {assets} assets", target, cache))
        add_bench_assets(conn, deltas[0], _T0 + timedelta(hours=1))
        figures.append(measure_pipeline_run(f"new: delta of {delta}, cached index", target, cache))
        add_bench_assets(conn, deltas[1], _T0 + timedelta(hours=2))
        rebuilt = Path(tmp) / f"index-rebuilt-{time.time_ns()}"  # an empty cache: as after a registry load
        figures.append(measure_pipeline_run(f"new: delta of {delta}, index rebuilt", target, rebuilt))
        figures.append(measure_pipeline_run("new: re-run, nothing new", target, cache))
        if baseline_ref:
            options = [*(["--workers", str(workers)] if workers else [])]
            options += ["--chunk-size", str(chunk_size)] if chunk_size else []
            old_include = _baseline_package(baseline_ref, Path(tmp))
            old_env = {**env, "PYTHONPATH": f"{old_include}{os.pathsep}{PROJECT_ROOT / 'include'}"}
            old_match = [sys.executable, "-m", "eidr_matching", "match", "--assets-relation", ASSETS_RELATION, *options]
            fresh()
            figures.append(measure_run(f"before ({baseline_ref}): first match of {assets}", old_match, old_env))
            add_bench_assets(conn, deltas[2], _T0 + timedelta(hours=3))
            figures.append(measure_run(f"before ({baseline_ref}): delta of {delta}", old_match, old_env))
    conn.close()
    return figures


def render_figures(figures: Sequence[RunFigures]) -> str:
    """The before/after ratios when the baseline ran (each run's line is printed as it finishes)."""
    old = [run for run in figures if run.name.startswith("before")]
    if len(old) != 2:
        return ""
    first, cached, rebuilt = figures[0], figures[1], figures[2]
    return (
        f"  ratios before/after: first match {old[0].seconds / first.seconds:.2f}x time, "
        f"{old[0].peak_pss_mb / first.peak_pss_mb:.2f}x PSS; delta {old[1].seconds / cached.seconds:.2f}x time "
        f"(cached index), {old[1].seconds / rebuilt.seconds:.2f}x (index rebuilt)"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark with the given sizes and print its figures."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.eidr_matching", description=__doc__)
    parser.add_argument("--assets", type=int, default=100_000)
    parser.add_argument("--registry", type=int, default=1_000_000)
    parser.add_argument("--delta", type=int, default=10_000)
    parser.add_argument(
        "--workers", type=int, default=None, help="sets MEDIA_MATCH_WORKERS for the task's path (default: unset)"
    )
    parser.add_argument("--chunk-size", type=int, default=None, help="the baseline's only (the task passes none)")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--baseline-ref", help="also run this git ref's matcher (e.g. main) for before/after ratios")
    parser.add_argument("--dsn", default=os.environ.get("WAREHOUSE_DSN", ""), help="server to use (own database)")
    parser.add_argument("--in-memory", action="store_true", help="the matcher alone, no warehouse (earlier figures)")
    args = parser.parse_args(argv)
    if args.in_memory:
        print(run_benchmark(args.assets, args.registry, args.seed, args.workers or 2).render())
        return 0
    print(
        f"benchmark: {args.assets} assets, then deltas of {args.delta}, against {args.registry} registry titles "
        f"(database {BENCH_DATABASE})"
    )
    figures = run_warehouse_benchmark(
        args.assets, args.registry, args.delta, args.workers, args.chunk_size, args.dsn, args.baseline_ref, args.seed
    )
    ratios = render_figures(figures)
    if ratios:
        print(ratios)
    return 0


if __name__ == "__main__":
    sys.exit(main())
