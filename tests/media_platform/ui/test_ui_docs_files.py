"""Serving docs sites: only files inside the site folder, and for dbt docs only its three files."""

from __future__ import annotations

from pathlib import Path

import pytest

from media_platform.ui.docs_files import DBT_DOCS_FILES, DocsFileNotFound, docs_file


@pytest.fixture()
def site(tmp_path: Path) -> Path:
    root = tmp_path / "gx" / "uncommitted" / "data_docs" / "local_site"
    (root / "validations").mkdir(parents=True)
    (root / "index.html").write_text("<html>index</html>")
    (root / "validations" / "run.html").write_text("<html>run</html>")
    (root / "notes.yml").write_text("secret: no")
    (tmp_path / "gx" / "uncommitted" / "config_variables.yml").write_text("warehouse_url: postgresql://u:p@h/db")
    (root / "link.html").symlink_to(tmp_path / "gx" / "uncommitted" / "config_variables.yml")
    return root


def test_site_files_are_served(site: Path) -> None:
    assert docs_file(site, "").name == "index.html"
    assert docs_file(site, "validations/run.html") == (site / "validations" / "run.html").resolve()


@pytest.mark.parametrize(
    "name",
    ["../../config_variables.yml", "/etc/passwd", "link.html", "notes.yml", ".hidden.html", "validations/missing.html"],
)
def test_nothing_outside_the_site_or_of_another_kind(site: Path, name: str) -> None:
    with pytest.raises(DocsFileNotFound):
        docs_file(site, name)


def test_dbt_docs_serves_only_its_three_files(tmp_path: Path) -> None:
    for name in (*DBT_DOCS_FILES, "run_results.json"):
        (tmp_path / name).write_text("{}")
    assert docs_file(tmp_path, "manifest.json", DBT_DOCS_FILES).name == "manifest.json"
    with pytest.raises(DocsFileNotFound):
        docs_file(tmp_path, "run_results.json", DBT_DOCS_FILES)
