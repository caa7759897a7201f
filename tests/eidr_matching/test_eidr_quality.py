"""The matcher reaches issue 13's targets on the project's hard labelled set, scored by `eidr_matching evaluate`.

The set (dev/benchmarks/eidr_labelled_set.py, seed 13): 3,000 assets against the real ggplot2movies films, a fifth
absent from the registry but looking like films that are; titles cut to ADI's 19 characters, typos of every kind,
remakes and near-homonyms.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.eidr_labelled_set import SEED, write
from eidr_matching.__main__ import main


@pytest.fixture(scope="module")
def figures(tmp_path_factory: pytest.TempPathFactory) -> dict:
    paths = write(tmp_path_factory.mktemp("hard_set"), SEED)
    return {name: str(path) for name, path in paths.items()}


def _evaluate(paths: dict, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    argv = ["evaluate", "--registry", paths["registry"], "--assets", paths["assets"], "--truth", paths["truth"]]
    assert main([*argv, *extra]) == 0
    return capsys.readouterr().out


def test_the_targets_hold_on_the_hard_set(figures: dict, capsys: pytest.CaptureFixture[str]) -> None:
    result = json.loads(_evaluate(figures, capsys, "--json"))
    assert (result["assets"], result["not_in_registry"]) == (3000, 600)
    assert result["auto_accept_precision"] >= 0.999, result
    assert result["absent_wrongly_accepted_share"] <= 0.002, result
    assert result["auto_accept_recall"] >= 0.98, result
    assert result["review_share"] <= 0.04, result
    assert result["candidate_recall"] >= result["auto_accept_recall"]
    # the hard cases are there and handled: cut titles and swapped letters are auto-accepted with the right ID
    per = result["by_perturbation"]
    for kind in ("truncated_title_brief", "typo_transposition"):
        assert per[kind]["auto_ok"] >= 0.95 * per[kind]["assets"], (kind, per[kind])
    for kind in ("absent_word_order", "absent_near_homonym", "absent_truncated_sequel", "absent_remake"):
        assert per[kind]["assets"] > 30 and per[kind].get("wrong", 0) <= 1, (kind, per[kind])


def test_the_table_names_each_recall(figures: dict, capsys: pytest.CaptureFixture[str]) -> None:
    out = _evaluate(figures, capsys)
    for label in ("auto-accept precision:", "auto-accept recall:", "candidate recall:", "absent wrongly auto-accepted:",
                  "review share:", "auto_accept", "review", "reject"):  # fmt: skip
        assert label in out, label


def test_the_set_is_the_same_for_a_seed(tmp_path: Path, figures: dict) -> None:
    again = write(tmp_path, SEED)
    for name, path in again.items():
        assert path.read_bytes() == Path(figures[name]).read_bytes(), name
