"""Title normalisation: moved articles, diacritics, case, punctuation, qualifiers, subtitles, people, countries."""

from __future__ import annotations

import pytest

from eidr_matching.normalize import country_code, split_people, title_key
from eidr_matching.scoring import title_similarity


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Matrix, The", "The Matrix"),
        ("THE MATRIX", "the matrix"),
        ("Auberge espagnole, L'", "L'Auberge espagnole"),
        ("Amélie", "Amelie"),
        ("Léon: The Professional", "Leon - The Professional"),
        ("Three Musketeers, The", "The Three Musketeers"),
        ("Rocky II", "Rocky 2"),
        ("Alien (Director's Cut)", "Alien"),
        ("Jaws [HD]", "Jaws"),
        ("Tom & Jerry", "Tom and Jerry"),
        ("Ocean\u2019s Eleven", "Ocean's Eleven"),
        ("Untergang, Der", "Der Untergang"),
    ],
)
def test_equivalent_titles_share_one_key(a: str, b: str) -> None:
    assert title_key(a).key == title_key(b).key
    assert title_similarity(title_key(a), title_key(b)) == 1.0


def test_subtitle_is_split_off_as_the_main_title() -> None:
    key = title_key("Dr. Strangelove or: How I Learned to Stop Worrying and Love the Bomb")
    assert key.main == "dr strangelove"
    assert title_similarity(title_key("Dr. Strangelove"), key) == pytest.approx(0.92)  # subtitle dropped on one side
    assert title_key("Alien: Resurrection").main == "alien"
    assert title_key("10:10").key == "10 10"  # a time is not a subtitle


def test_a_typo_is_similar_but_not_equal() -> None:
    score = title_similarity(title_key("The Matirx"), title_key("Matrix, The"))
    assert 0.7 < score < 1.0


def test_a_real_leading_word_is_not_taken_for_an_article() -> None:
    assert title_similarity(title_key("Des Ex"), title_key("Deus Ex")) > title_similarity(
        title_key("Des Ex"), title_key("The Ex")
    )


def test_people_and_countries() -> None:
    assert split_people("Kubrick, Stanley") == split_people("Stanley Kubrick")
    assert split_people("Lana Wachowski; Lilly Wachowski | X") == ("lana wachowski", "lilly wachowski", "x")
    assert split_people(None) == ()
    assert country_code("United States") == country_code("us") == "US"
    assert country_code("UK") == "GB"
    assert country_code(" ") is None
