"""The project's hard labelled EIDR evaluation set, written as the three files `python -m eidr_matching evaluate` reads.

`python -m benchmarks.eidr_labelled_set --out DIR` writes DIR/registry.csv (an EIDR bulk export: the real
ggplot2movies films, see tests/fixtures/public/PROVENANCE.md, minus the held-out ones), DIR/assets.csv and
DIR/truth.csv, deterministic for a seed. Four fifths of the assets are registry films as deliveries mangle them
(titles cut to ADI's 19-character Title_Brief, every kind of typo, remakes and near-homonyms in the registry,
moved articles, translated titles, years and running times a little off); one fifth are not in the registry but
look like films that are (held-out remakes and near-homonyms, the same words in another order, a sequel cut to the
same 19 characters, a typo of a registered title), with other years, running times or directors.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from collections import defaultdict
from pathlib import Path

from benchmarks.eidr_evaluation import noise
from demo_feeds.eidr_registry import FIRST, LAST, RegistryFilm, load_registry_films, registry_rows, render_csv
from eidr_matching.evaluate import ASSET_COLUMNS, TRUTH_COLUMNS
from eidr_matching.normalize import title_key

TITLE_BRIEF = 19  # ADI 1.1 Title_Brief: at most 19 characters
PRESENT: dict[str, int] = {
    "clean": 10, "case_punctuation_diacritics": 7, "truncated_title_brief": 12, "typo_transposition": 7,
    "typo_deletion": 6, "typo_insertion": 6, "typo_substitution": 6, "typo_spacing": 5, "typo_punctuation": 4,
    "remake_in_registry": 6, "near_homonym_in_registry": 6, "moved_article": 4, "alternate_title": 3,
    "subtitle_dropped": 3, "edition_qualifier": 3, "year_off_by_one": 6, "runtime_off": 6,
}  # fmt: skip
ABSENT: dict[str, int] = {
    "absent_remake": 4, "absent_near_homonym": 4, "absent_word_order": 3, "absent_truncated_sequel": 3,
    "absent_typo_lookalike": 3, "absent_held_out": 3,
}  # fmt: skip
ABSENT_SHARE = 0.2
SEED = 13
ASSETS = 3000
_EXTRA_WORDS = ("Returns", "Forever", "Rising", "II", "Again", "Reloaded", "Begins", "Home", "Story", "Night")


def build(seed: int = SEED, assets: int = ASSETS) -> tuple[bytes, list[dict[str, str]], list[dict[str, str]]]:
    """The registry export (CSV bytes), the asset rows and the truth rows."""
    rng = random.Random(seed)
    films = load_registry_films(7)
    by_key: dict[str, list[RegistryFilm]] = defaultdict(list)
    by_start: dict[str, list[RegistryFilm]] = defaultdict(list)
    by_first_words: dict[tuple[str, ...], list[RegistryFilm]] = defaultdict(list)
    for film in films:
        key = title_key(film.title)
        by_key[key.key].append(film)
        if len(film.title) > TITLE_BRIEF:
            by_start[film.title[:TITLE_BRIEF]].append(film)
        if len(key.tokens) >= 2:
            by_first_words[key.tokens[:2]].append(film)
    remakes = [fs for fs in by_key.values() if len({f.year for f in fs}) > 1]
    sequels = [fs for fs in by_start.values() if len(fs) > 1]
    homonyms = [fs for fs in by_first_words.values() if len({title_key(f.title).key for f in fs}) > 1]
    # held out: one film of some remake groups, of some same-19-character groups and of some near-homonym groups
    held_out: set[str] = set()
    for groups, share in ((remakes, 0.3), (sequels, 0.3), (homonyms, 0.15)):
        for group in groups:
            if rng.random() < share:
                held_out.add(rng.choice(group).eidr_id)
    present = [f for f in films if f.eidr_id not in held_out]
    absent_remakes = [f for fs in remakes for f in fs if f.eidr_id in held_out]
    absent_sequels = [f for fs in sequels for f in fs if f.eidr_id in held_out]
    absent_homonyms = [f for fs in homonyms for f in fs if f.eidr_id in held_out]
    in_registry_remakes = [f for fs in remakes for f in fs if f.eidr_id not in held_out]
    in_registry_homonyms = [f for fs in homonyms for f in fs if f.eidr_id not in held_out]
    pools = {
        "truncated_title_brief": [f for f in present if len(f.title) > TITLE_BRIEF and f.title[TITLE_BRIEF - 1] != " "],
        "remake_in_registry": in_registry_remakes,
        "near_homonym_in_registry": in_registry_homonyms,
        "moved_article": [f for f in present if f.catalogue_title != f.title],
        "alternate_title": [f for f in present if f.alternates],
        "subtitle_dropped": [f for f in present if ": " in f.title],
        "absent_remake": absent_remakes,
        "absent_near_homonym": absent_homonyms,
        "absent_truncated_sequel": [f for f in absent_sequels if f.title[TITLE_BRIEF - 1] != " "],
        "absent_held_out": sorted({*absent_remakes, *absent_sequels, *absent_homonyms}, key=lambda f: f.eidr_id),
        "absent_word_order": [f for f in present if len(title_key(f.title).tokens) in (2, 3)],
    }
    rows = [r for r in registry_rows(7, films) if r["ID"] not in held_out and r["ParentID"] not in held_out]
    absent_n = round(assets * ABSENT_SHARE)
    kinds = rng.choices(list(PRESENT), weights=list(PRESENT.values()), k=assets - absent_n)
    kinds += rng.choices(list(ABSENT), weights=list(ABSENT.values()), k=absent_n)
    rng.shuffle(kinds)
    asset_rows, truth_rows = [], []
    for number, kind in enumerate(kinds):
        film = rng.choice(pools.get(kind) or present)
        asset = _asset(rng, f"hard-{number:05d}", kind, film)
        asset_rows.append(asset)
        truth = "" if kind.startswith("absent") else film.eidr_id
        truth_rows.append({"asset_key": asset["asset_key"], "eidr_id": truth, "perturbation": kind})
    return render_csv(rows), asset_rows, truth_rows


def _asset(rng: random.Random, key: str, kind: str, film: RegistryFilm) -> dict[str, str]:
    title, year, minutes, directors = film.title, film.year, film.minutes, "; ".join(film.directors)
    if kind == "case_punctuation_diacritics":
        title = noise(rng, title)
    elif kind == "truncated_title_brief":
        title = title[:TITLE_BRIEF]
    elif kind.startswith("typo_"):
        title = slip(rng, title, kind.removeprefix("typo_"))
    elif kind == "moved_article":
        title = film.catalogue_title
    elif kind == "alternate_title":
        title = rng.choice(film.alternates)
    elif kind == "subtitle_dropped":
        title = title.split(": ", 1)[0]
    elif kind == "edition_qualifier":
        title = f"{title} {rng.choice(['(HD)', '(Remastered)', '[OV]', '(Extended Edition)', '(4K)'])}"
    elif kind == "year_off_by_one":
        year += rng.choice((-1, 1))
    elif kind == "runtime_off":
        minutes += rng.choice((-1, 1)) * rng.randint(1, 8)
    changed: tuple[str, ...] = ()
    if kind.startswith("absent"):
        title, year, minutes, directors, changed = _lookalike(rng, kind, film)
    return {
        "asset_key": key,
        "title": title,
        "provider_id": "hard_set",
        # a look-alike delivers what tells it apart (else nothing could): the fields that differ are always sent
        "release_year": str(year) if "year" in changed or rng.random() < 0.97 else "",
        "runtime_minutes": str(minutes) if "minutes" in changed or rng.random() < 0.85 else "",
        "directors": directors if "director" in changed or rng.random() < 0.6 else "",
        "country": film.country if rng.random() < 0.4 and not kind.startswith("absent") else "",
    }


def _lookalike(rng: random.Random, kind: str, film: RegistryFilm) -> tuple[str, int, int, str, tuple[str, ...]]:
    """A film not in the registry that looks like `film` (a registry film, or the held-out one itself), and which of
    its fields were made to differ (none for a held-out real film: it differs from its registry sibling as it is)."""
    title, year, minutes = film.title, film.year, film.minutes
    directors = "; ".join(film.directors)
    if kind == "absent_truncated_sequel":
        return title[:TITLE_BRIEF], year, minutes, directors, ()  # the held-out sequel, cut like its sibling
    if kind in ("absent_remake", "absent_near_homonym", "absent_held_out"):
        return title, year, minutes, directors, ()
    other_year = year + rng.choice((-1, 1)) * rng.randint(3, 40)
    other_minutes = max(5, minutes + rng.choice((-1, 1)) * rng.randint(21, 60))
    other_director = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    if kind == "absent_word_order":
        words = title.split()
        for _ in range(10):
            if len(words) < 2 or words != title.split():
                break
            rng.shuffle(words)
        if rng.random() < 0.5 and len(words) > 1:
            words[0] = words[0].rstrip("s") + "'s"  # "Fortune Cookie" -> "Cookie's Fortune"
        title = " ".join(words)
    elif kind == "absent_typo_lookalike":
        title = slip(rng, title, rng.choice(("transposition", "deletion", "insertion", "substitution")))
    # one or two of year, running time and director differ, as they do between different films
    changed = tuple(rng.sample(("year", "minutes", "director"), rng.choice((1, 2, 2, 3))))
    return (
        title,
        other_year if "year" in changed else year,
        other_minutes if "minutes" in changed else minutes,
        other_director if "director" in changed else directors,
        changed,
    )


def slip(rng: random.Random, title: str, kind: str) -> str:
    """One typo of the given kind in a word of four letters or more (spacing and punctuation anywhere)."""
    words = title.split(" ")
    if kind == "spacing" and len(words) > 1:
        i = rng.randrange(len(words) - 1)
        return " ".join([*words[:i], words[i] + words[i + 1], *words[i + 2 :]])  # "Star Wars" -> "StarWars"
    if kind == "punctuation":
        for old, new in ((": ", " - "), ("&", "and"), (" and ", " & "), ("'", ""), (".", ""), (",", "")):
            if old in title:
                return title.replace(old, new, 1)
        return title + rng.choice(("!", ".", " -"))
    long_words = [i for i, w in enumerate(words) if sum(c.isalpha() for c in w) >= 4]
    if not long_words:
        return title
    i = rng.choice(long_words)
    word = words[i]
    j = rng.randrange(1, len(word) - 1)
    if kind == "transposition" or kind == "spacing":
        if kind == "spacing":
            word = word[:j] + " " + word[j:]
        elif word[j] != word[j + 1]:
            word = word[:j] + word[j + 1] + word[j] + word[j + 2 :]
        else:
            word = word[: j - 1] + word[j] + word[j - 1] + word[j + 1 :]
    elif kind == "deletion":
        word = word[:j] + word[j + 1 :]
    elif kind == "insertion":
        word = word[:j] + rng.choice("aeiourstnlm") + word[j:]
    else:
        word = word[:j] + rng.choice([c for c in "aeiourstnlm" if c != word[j].lower()]) + word[j + 1 :]
    words[i] = word
    return " ".join(words)


def write(out: Path, seed: int = SEED, assets: int = ASSETS) -> dict[str, Path]:
    """Write registry.csv, assets.csv and truth.csv into `out`; returns their paths."""
    registry, asset_rows, truth_rows = build(seed, assets)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"registry": out / "registry.csv", "assets": out / "assets.csv", "truth": out / "truth.csv"}
    paths["registry"].write_bytes(registry)
    for path, columns, rows in (
        (paths["assets"], ASSET_COLUMNS, asset_rows),
        (paths["truth"], TRUTH_COLUMNS, truth_rows),
    ):
        with path.open("w", encoding="utf-8", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=columns, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    return paths


def main(argv: list[str] | None = None) -> int:
    """Write the labelled set and print the evaluate command that scores it."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.eidr_labelled_set", description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--assets", type=int, default=ASSETS)
    args = parser.parse_args(argv)
    paths = write(args.out, args.seed, args.assets)
    print("python -m eidr_matching evaluate " + " ".join(f"--{name} {path}" for name, path in paths.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
