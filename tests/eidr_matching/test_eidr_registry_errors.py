"""Loud failures: a registry export whose header is not understood is refused, and matching against an empty or
absent registry stops with a clear message instead of rejecting every asset."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from eidr_cases import MATRIX

from eidr_matching import store
from eidr_matching.__main__ import main
from eidr_matching.matcher import Matcher
from eidr_matching.models import Asset
from eidr_matching.registry import EmptyRegistryError, RegistryExportError, load_export, records_from_export
from eidr_matching.scoring import Band

GOOD = f"ID,ResourceName,ReleaseDate,ApproximateLength\n{MATRIX.eidr_id},The Matrix,1999,136\n"


def test_a_header_with_unknown_columns_is_refused_with_the_file_the_columns_and_what_was_expected() -> None:
    # the held-out registry of issue 13: its year and length columns were silently ignored
    data = f"ID,ResourceName,ProductionYear,Minutes\n{MATRIX.eidr_id},The Matrix,1999,136\n".encode()
    with pytest.raises(RegistryExportError) as raised:
        records_from_export(data, "held_out.csv")
    message = str(raised.value)
    assert message.startswith("held_out.csv: registry export refused")
    assert "unknown columns ['ProductionYear', 'Minutes']" in message
    assert "expected ID, ResourceName and any of" in message and "ReleaseDate" in message


def test_a_header_without_a_required_column_is_refused() -> None:
    with pytest.raises(RegistryExportError, match=r"registry.csv: .*CSV header lacks ID: header \['Title', 'Year'\]"):
        records_from_export(b"Title,Year\nHeat,1995\n", "registry.csv")


def test_known_aliases_still_load() -> None:
    records, problems = records_from_export(GOOD.encode(), "good.csv")
    assert problems == [] and [(r.release_year, r.length_minutes) for r in records] == [(1999, 136)]


def test_an_export_without_active_records_and_a_missing_file_are_refused(tmp_path: Path) -> None:
    with pytest.raises(RegistryExportError, match="no active"):
        records_from_export(b"ID,ResourceName\n", "empty.csv")
    with pytest.raises(RegistryExportError, match=str(tmp_path / "absent.csv")):
        load_export(tmp_path / "absent.csv")


def test_evaluate_prints_the_refusal_and_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    registry = tmp_path / "registry.csv"
    registry.write_text("ID,ResourceName,ProductionYear\n", encoding="utf-8")
    (tmp_path / "assets.csv").write_text("asset_key,title\na,The Matrix\n", encoding="utf-8")
    (tmp_path / "truth.csv").write_text("asset_key,eidr_id\na,\n", encoding="utf-8")
    argv = ["evaluate", "--registry", str(registry), "--assets", str(tmp_path / "assets.csv")]
    assert main([*argv, "--truth", str(tmp_path / "truth.csv")]) == 1
    err = capsys.readouterr().err
    assert f"{registry}: registry export refused" in err and "unknown columns ['ProductionYear']" in err


def test_evaluate_refuses_an_assets_file_with_unknown_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "registry.csv").write_text(GOOD, encoding="utf-8")
    (tmp_path / "assets.csv").write_text("asset_key,title,year\na,The Matrix,1999\n", encoding="utf-8")
    (tmp_path / "truth.csv").write_text("asset_key,eidr_id\na,\n", encoding="utf-8")
    argv = ["evaluate", "--registry", str(tmp_path / "registry.csv"), "--assets", str(tmp_path / "assets.csv")]
    assert main([*argv, "--truth", str(tmp_path / "truth.csv")]) == 1
    assert "header has unknown columns ['year']" in capsys.readouterr().err


def test_an_empty_index_says_so_in_the_rejection() -> None:
    decision = Matcher.from_records([]).decide(Asset("a", "The Matrix", release_year=1999))
    assert decision.band == Band.REJECT and "registry mirror is empty" in (decision.reason or "")


def test_matching_against_an_empty_registry_fails_clearly_and_writes_nothing(
    own_database: Callable[[str], Any],
) -> None:
    with own_database("eidr_empty_registry") as conn:
        with conn, conn.cursor() as cur:
            cur.execute("create schema a; create table a.assets (asset_key text, title text, release_year int)")
            cur.execute("insert into a.assets values ('k1', 'The Matrix', 1999), ('k2', 'Heat', 1995)")
        source = store.assets_query("a.assets")
        with pytest.raises(EmptyRegistryError, match=r"raw.eidr_registry has no active .* 2 assets were not matched"):
            store.run_matching(conn, source)
        with conn.cursor() as cur:
            cur.execute("select count(*) from eidr.match_results")
            assert cur.fetchone()[0] == 0
            cur.execute("select count(*) from eidr.match_runs")
            assert cur.fetchone()[0] == 0
        conn.rollback()
        # before the first registry delivery the pipeline asks for rejections with the reason instead
        summary = store.run_matching(conn, source, allow_empty_registry=True)
        assert summary.bands == {"reject": 2}
        with conn.cursor() as cur:
            cur.execute("select distinct reason from eidr.match_results")
            assert [r for (r,) in cur.fetchall()] == ["the registry mirror is empty (no registry loaded)"]
        conn.rollback()
