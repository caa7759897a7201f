"""Scoring and bands on hand-made cases, the provided-ID rules, and the config file."""

from __future__ import annotations

from pathlib import Path

import pytest
from eidr_cases import AMELIE, EDIT, HAMLET_1948, HAMLET_1996, MATRIX, RECORDS, STRANGELOVE, episode, film, make_id

from eidr_matching.matcher import Matcher
from eidr_matching.models import Asset
from eidr_matching.scoring import DEFAULT_CONFIG_PATH, Band, ConfigError, MatchConfig, Method, load_config


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher.from_records(RECORDS)


def asset(title: str | None = None, **kw) -> Asset:
    return Asset(asset_key=kw.pop("asset_key", "a1"), title=title, **kw)


def test_moved_article_with_year_and_director_auto_accepts(matcher: Matcher) -> None:
    decision = matcher.decide(asset("Matrix, The", release_year=1999, runtime_minutes=136, directors="Wachowski, Lana"))
    assert (decision.band, decision.method, decision.eidr_id) == (Band.AUTO_ACCEPT, Method.MATCHED, MATRIX.eidr_id)
    assert decision.candidates[0].field_scores == {"title": 1.0, "year": 1.0, "director": 1.0, "length": 1.0}


def test_year_off_by_one_and_a_typo_still_find_the_film(matcher: Matcher) -> None:
    decision = matcher.decide(asset("The Matirx", release_year=2000, runtime_minutes=137))
    assert decision.top_candidate == MATRIX.eidr_id
    assert decision.band in (Band.AUTO_ACCEPT, Band.REVIEW)


def test_remake_with_the_same_title_picks_its_year_and_never_the_other(matcher: Matcher) -> None:
    decision = matcher.decide(asset("Hamlet", release_year=1996, runtime_minutes=242))
    assert (decision.band, decision.eidr_id) == (Band.AUTO_ACCEPT, HAMLET_1996.eidr_id)
    only_remake = Matcher.from_records([HAMLET_1948])
    decision = only_remake.decide(asset("Hamlet", release_year=1996, runtime_minutes=242))
    assert decision.band != Band.AUTO_ACCEPT and decision.eidr_id is None


def test_same_title_without_a_year_goes_to_review_not_auto_accept(matcher: Matcher) -> None:
    decision = matcher.decide(asset("Hamlet"))
    assert decision.band == Band.REVIEW and decision.eidr_id is None
    assert "ambiguous" in (decision.reason or "")


def test_alternate_and_translated_titles_match(matcher: Matcher) -> None:
    decision = matcher.decide(asset("Amelie", release_year=2001, country="France"))
    assert (decision.band, decision.eidr_id) == (Band.AUTO_ACCEPT, AMELIE.eidr_id)
    decision = matcher.decide(asset("Dr. Strangelove", release_year=1964, directors="Stanley Kubrick"))
    assert decision.top_candidate == STRANGELOVE.eidr_id


def test_episode_is_matched_on_series_season_and_number(matcher: Matcher) -> None:
    decision = matcher.decide(
        asset("Harbour Lights S2 E3", series_title="Harbour Lights", season_number=2, episode_number=3)
    )
    assert (decision.band, decision.eidr_id) == (Band.AUTO_ACCEPT, episode(3).eidr_id)


def test_episode_differing_only_by_number_is_never_auto_accepted(matcher: Matcher) -> None:
    decision = matcher.decide(asset("Harbour Lights", series_title="Harbour Lights", season_number=2, episode_number=9))
    assert decision.band != Band.AUTO_ACCEPT and decision.eidr_id is None
    assert decision.candidates[0].field_scores["episode"] == 0.0


def test_unknown_title_is_rejected(matcher: Matcher) -> None:
    decision = matcher.decide(asset("Completely Different Picture", release_year=1999))
    assert decision.band == Band.REJECT and decision.eidr_id is None


def test_provided_id_that_agrees_wins(matcher: Matcher) -> None:
    decision = matcher.decide(asset("Matrix", release_year=1999, eidr_id=MATRIX.eidr_id, eidr_status="valid"))
    assert (decision.band, decision.method, decision.eidr_id) == (Band.PROVIDED, Method.PROVIDED, MATRIX.eidr_id)


def test_provided_edit_of_the_matched_title_agrees(matcher: Matcher) -> None:
    decision = matcher.decide(asset("The Matrix", release_year=1999, eidr_id=EDIT.eidr_id, eidr_status="valid"))
    assert (decision.band, decision.eidr_id) == (Band.PROVIDED, EDIT.eidr_id)


def test_provided_id_conflicting_with_a_strong_match_goes_to_review(matcher: Matcher) -> None:
    decision = matcher.decide(
        asset("The Matrix", release_year=1999, runtime_minutes=136, eidr_id=HAMLET_1948.eidr_id, eidr_status="valid")
    )
    assert (decision.band, decision.method, decision.eidr_id) == (Band.REVIEW, Method.NONE, None)
    assert "conflicts with strong match" in (decision.reason or "")
    assert decision.provided_eidr_id == HAMLET_1948.eidr_id
    assert {c.eidr_id for c in decision.candidates} >= {MATRIX.eidr_id, HAMLET_1948.eidr_id}


def test_provided_id_missing_from_the_registry_goes_to_review(matcher: Matcher) -> None:
    unknown = make_id("not in the registry")
    decision = matcher.decide(asset("The Matrix", release_year=1999, eidr_id=unknown, eidr_status="valid"))
    assert decision.band == Band.REVIEW and "not in the registry mirror" in (decision.reason or "")


def test_invalid_provided_id_is_noted_and_the_asset_matched(matcher: Matcher) -> None:
    decision = matcher.decide(asset("The Matrix", release_year=1999, eidr_status="invalid"))
    assert decision.band == Band.AUTO_ACCEPT and decision.eidr_id == MATRIX.eidr_id
    assert "invalid" in (decision.reason or "")


def test_thresholds_come_from_the_config(tmp_path: Path) -> None:
    strict = tmp_path / "strict.yaml"
    strict.write_text("thresholds: {auto_accept: 0.999, review: 0.5}\n")
    config = load_config(strict)
    assert (config.auto_accept, config.review, config.year_window) == (0.999, 0.5, 2)
    matcher = Matcher.from_records([film("Heat", 1995, 170)], config)
    assert matcher.decide(asset("Heat", release_year=1996, runtime_minutes=170)).band == Band.REVIEW
    assert load_config(DEFAULT_CONFIG_PATH) == MatchConfig()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("thresholds: {auto_accept: 0.5, review: 0.9}", "review <= auto_accept"),
        ("colour: blue", "unknown settings"),
        ("movie_weights: {title: 70, mood: 3}", "unknown fields"),
        ("- a list", "mapping"),
    ],
)
def test_bad_config_is_a_named_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path)
