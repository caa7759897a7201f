"""The match_eidr task's command line is one the matcher's CLI accepts: relation, index cache, workers, --full."""

from __future__ import annotations

from pathlib import Path

import pytest

from eidr_matching.__main__ import build_parser
from media_platform.tasks.matching import ASSETS_RELATION, WORKERS_ENV, matching_command


def test_the_command_parses_with_the_matchers_cli(tmp_path: Path) -> None:
    command = matching_command(True, tmp_path / "index", tmp_path / "summary.json", {WORKERS_ENV: "3"})
    assert command[1:4] == ["-m", "eidr_matching", "match"]
    args = build_parser().parse_args(command[3:])
    assert (args.assets_relation, args.full, args.workers) == (ASSETS_RELATION, True, 3)
    assert (args.index_cache, args.summary_file) == (tmp_path / "index", tmp_path / "summary.json")


def test_without_the_setting_the_matcher_sizes_its_pool_itself(tmp_path: Path) -> None:
    args = build_parser().parse_args(matching_command(False, tmp_path, tmp_path / "s.json", {})[3:])
    assert (args.workers, args.full) == (None, False)


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_a_bad_worker_setting_names_the_variable(tmp_path: Path, value: str) -> None:
    with pytest.raises(ValueError, match=WORKERS_ENV):
        matching_command(False, tmp_path, tmp_path / "s.json", {WORKERS_ENV: value})


def test_before_the_first_registry_delivery_the_matcher_rejects_instead_of_failing(tmp_path: Path) -> None:
    loaded = build_parser().parse_args(matching_command(False, tmp_path, tmp_path / "s.json", {})[3:])
    before = build_parser().parse_args(
        matching_command(False, tmp_path, tmp_path / "s.json", {}, registry_loaded=False, assets_relation="b.assets")[
            3:
        ]
    )
    assert (loaded.allow_empty_registry, before.allow_empty_registry) == (False, True)
    assert before.assets_relation == "b.assets"
