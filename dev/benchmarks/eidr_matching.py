"""In-memory EIDR matching benchmark: N assets against a synthetic registry of M titles from the real vocabulary.

`python -m benchmarks.eidr_matching --assets 100000 --registry 1000000` prints the figures in
include/eidr_matching/README.md.
"""

from __future__ import annotations

import argparse
import itertools
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass

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


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark with the given sizes and print its figures."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.eidr_matching", description=__doc__)
    parser.add_argument("--assets", type=int, default=100_000)
    parser.add_argument("--registry", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args(argv)
    print(run_benchmark(args.assets, args.registry, args.seed, args.workers).render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
