"""A labelled evaluation set from the real ggplot2movies list with realistic perturbations, and its figures.

The registry is the demo export (films with valid IDs, alternate and translated names, edits, series, seasons,
episodes) minus a held-out share of films whose assets must not be matched. Each asset is one film or episode as a
provider would send it, perturbed one way (typo, moved article, translated title, year off by one, ...).
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import defaultdict
from pathlib import Path

from demo_feeds.eidr_registry import load_registry_films, registry_rows, render_csv
from eidr_matching.evaluate import Case, Report, score
from eidr_matching.models import Asset, RegistryRecord
from eidr_matching.normalize import title_key
from eidr_matching.registry import records_from_export
from eidr_matching.scoring import MatchConfig, load_config

# perturbation -> relative frequency in the evaluation set
PERTURBATIONS: dict[str, int] = {
    "clean": 10, "case_punctuation_diacritics": 8, "moved_article": 8, "typo": 12, "alternate_title": 6,
    "subtitle_dropped": 4, "edition_qualifier": 4, "year_off_by_one": 10, "runtime_off": 8, "remake": 8,
    "typo_and_year_off": 5, "no_year": 3, "episode": 5, "episode_not_in_registry": 2, "not_in_registry": 7,
}  # fmt: skip
HELD_OUT_SHARE = 0.04
_ACCENTS = {"e": "é", "a": "à", "o": "ö", "u": "ü", "i": "í", "n": "ñ", "c": "ç"}


def build_evaluation(
    seed: int = 11, assets: int = 2000, registry_films: int | None = None
) -> tuple[list[RegistryRecord], list[Case]]:
    """The registry records and labelled assets, deterministic for a seed.

    registry_films limits the registry to a sample of films (plus every film sharing a title with one of them, so
    remakes stay in) for fast tests; None uses all 58,788.
    """
    rng = random.Random(seed)
    films = load_registry_films(7)
    if registry_films is not None and registry_films < len(films):
        by_key: dict[str, list] = defaultdict(list)
        for film in films:
            by_key[title_key(film.title).key].append(film)
        chosen = rng.sample(films, registry_films)
        keys = {title_key(f.title).key for f in chosen}
        films = [f for f in films if title_key(f.title).key in keys]
    held_out = {f.eidr_id for f in films if rng.random() < HELD_OUT_SHARE}
    rows = [r for r in registry_rows(7, films) if r["ID"] not in held_out]
    records, problems = records_from_export(render_csv(rows), "evaluation.csv")
    if problems:
        raise RuntimeError(f"evaluation registry has bad rows: {problems[:3]}")
    cases = _cases(rng, films, held_out, records, assets)
    return records, cases


def _cases(rng: random.Random, films: list, held_out: set[str], records: list[RegistryRecord], n: int) -> list[Case]:
    in_registry = [f for f in films if f.eidr_id not in held_out]
    outside = [f for f in films if f.eidr_id in held_out]
    by_key: dict[str, list] = defaultdict(list)
    for film in in_registry:
        by_key[title_key(film.title).key].append(film)
    remakes = [f for fs in by_key.values() if len({x.year for x in fs}) > 1 for f in fs]
    episodes = [r for r in records if r.kind == "episode"]
    series_of = {r.eidr_id: r for r in records}
    pools = {
        "remake": remakes,
        "not_in_registry": outside,
        "alternate_title": [f for f in in_registry if f.alternates],
        "subtitle_dropped": [f for f in in_registry if ": " in f.title],
        "moved_article": [f for f in in_registry if f.catalogue_title != f.title],
    }
    kinds = rng.choices(list(PERTURBATIONS), weights=list(PERTURBATIONS.values()), k=n)
    cases = []
    for number, kind in enumerate(kinds):
        key = f"eval-{number:06d}"
        if kind in ("episode", "episode_not_in_registry"):
            cases.append(_episode_case(rng, key, kind, episodes, series_of))
            continue
        pool = pools.get(kind) or in_registry
        film = rng.choice(pool)
        truth = None if film.eidr_id in held_out else film.eidr_id
        cases.append(Case(_film_asset(rng, key, kind, film), truth, kind))
    return cases


def _film_asset(rng: random.Random, key: str, kind: str, film) -> Asset:
    title, year, minutes = film.title, film.year, film.minutes
    if kind == "case_punctuation_diacritics":
        title = noise(rng, title)
    elif kind == "moved_article":
        title = film.catalogue_title
    elif kind in ("typo", "typo_and_year_off"):
        title = typo(rng, title)
    elif kind == "alternate_title" and film.alternates:
        title = rng.choice(film.alternates)
    elif kind == "subtitle_dropped" and ": " in title:
        title = title.split(": ", 1)[0]
    elif kind == "edition_qualifier":
        title = f"{title} {rng.choice(['(HD)', '(Remastered)', '[OV]', '(Extended Edition)', '(4K)'])}"
    if kind in ("year_off_by_one", "typo_and_year_off"):
        year += rng.choice((-1, 1))
    if kind == "runtime_off":
        minutes += rng.choice((-1, 1)) * rng.randint(1, 8)
    directors = None
    if rng.random() < 0.6:
        names = list(film.directors)
        if rng.random() < 0.3:
            names = [", ".join(reversed(n.split(" ", 1))) for n in names]
        directors = "; ".join(names)
    return Asset(
        asset_key=key,
        provider_id="evaluation",
        title=title,
        release_year=None if kind == "no_year" else year,
        runtime_minutes=minutes if rng.random() < 0.85 else None,
        directors=directors,
        country=film.country if rng.random() < 0.4 else None,
    )


def _episode_case(rng: random.Random, key: str, kind: str, episodes: list, by_id: dict) -> Case:
    episode = rng.choice(episodes)
    season = by_id.get(episode.parent_eidr_id or "")
    series = by_id.get(season.parent_eidr_id or "") if season else None
    series_title = series.resource_name if series else ""
    number = episode.episode_number or 1
    truth: str | None = episode.eidr_id
    if kind == "episode_not_in_registry":
        number += 40  # the series has 20 episodes a season: the sent episode differs only by its number
        truth = None
    season_number = episode.season_number
    title = rng.choice((f"{series_title} S{season_number} E{number}", f"Episode {number}", f"{series_title}"))
    asset = Asset(
        asset_key=key,
        provider_id="evaluation",
        title=title,
        series_title=noise(rng, series_title) if rng.random() < 0.3 else series_title,
        season_number=season_number,
        episode_number=number,
        release_year=episode.release_year if rng.random() < 0.5 else None,
        runtime_minutes=episode.length_minutes if rng.random() < 0.7 else None,
    )
    return Case(asset, truth, kind)


def noise(rng: random.Random, title: str) -> str:
    """Case, punctuation and diacritics as feeds mangle them."""
    text = rng.choice((title.upper(), title.lower(), title.title(), title))
    text = text.replace(":", rng.choice((" -", "", ":"))).replace("'", rng.choice(("", "\u2019", "'")))
    chars = list(text)
    positions = [i for i, c in enumerate(chars) if c.lower() in _ACCENTS]
    for i in rng.sample(positions, min(len(positions), 2)):
        accent = _ACCENTS[chars[i].lower()]
        chars[i] = accent.upper() if chars[i].isupper() else accent
    return "".join(chars)


def typo(rng: random.Random, title: str) -> str:
    """One keyboard slip in a word of four letters or more: swap, drop, double or replace a letter."""
    words = title.split(" ")
    long_words = [i for i, w in enumerate(words) if sum(c.isalpha() for c in w) >= 4]
    if not long_words:
        return title
    i = rng.choice(long_words)
    word = words[i]
    j = rng.randrange(1, len(word) - 1) if len(word) > 2 else 0
    action = rng.choice(("swap", "drop", "double", "replace"))
    if action == "swap":
        word = word[:j] + word[j + 1] + word[j] + word[j + 2 :]
    elif action == "drop":
        word = word[:j] + word[j + 1 :]
    elif action == "double":
        word = word[:j] + word[j] + word[j:]
    else:
        word = word[:j] + rng.choice("aeiourstnl") + word[j + 1 :]
    words[i] = word
    return " ".join(words)


def evaluate(
    seed: int = 11, assets: int = 2000, registry_films: int | None = None, config: MatchConfig | None = None
) -> Report:
    """Build the set and score the matcher on it (eidr_matching.evaluate.score); generation is not timed."""
    records, cases = build_evaluation(seed, assets, registry_films)
    return score(records, cases, config)


def main(argv: list[str] | None = None) -> int:
    """Print precision and recall per band on the labelled evaluation set."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.eidr_evaluation", description=__doc__)
    parser.add_argument("--assets", type=int, default=5000)
    parser.add_argument("--registry-films", type=int, help="sample of films in the registry (default all 58,788)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--config", type=Path, help="matching config YAML (default: matching.yaml)")
    args = parser.parse_args(argv)
    print(evaluate(args.seed, args.assets, args.registry_films, load_config(args.config)).render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
