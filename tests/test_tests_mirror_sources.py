"""tests/ mirrors the source tree folder by folder, so a module's tests are where its path says."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
TESTS = PROJECT_ROOT / "tests"
# Where each top-level test folder's sources live; the folders not listed here test the project as a whole.
SOURCE_ROOTS = {
    "ingest": PROJECT_ROOT / "include" / "ingest",
    "eidr_matching": PROJECT_ROOT / "include" / "eidr_matching",
    "dbt": PROJECT_ROOT / "include" / "dbt",
    "media_platform": PROJECT_ROOT / "plugins" / "media_platform",
    "plugins": PROJECT_ROOT / "plugins",
    "dags": PROJECT_ROOT / "dags",
    "dev": PROJECT_ROOT / "dev",
}
WHOLE_PROJECT = {"integration", "fixtures"}


def _test_folders(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_dir() and path.name != "__pycache__")


def test_every_test_folder_mirrors_a_source_folder() -> None:
    unknown = sorted(
        path.name for path in TESTS.iterdir() if path.is_dir() and path.name not in {*SOURCE_ROOTS, *WHOLE_PROJECT}
    )
    assert [name for name in unknown if name != "__pycache__"] == [], f"test folders with no source root: {unknown}"
    orphans = [
        str(folder.relative_to(TESTS))
        for top, source in SOURCE_ROOTS.items()
        for folder in _test_folders(TESTS / top)
        if not (source / folder.relative_to(TESTS / top)).is_dir()
    ]
    assert orphans == [], f"test folders that mirror no source folder: {orphans}"


def test_every_source_package_with_modules_has_its_test_folder() -> None:
    missing = [
        f"{top}/{package.relative_to(source)}"
        for top, source in SOURCE_ROOTS.items()
        if top in {"ingest", "media_platform", "dev"}
        for package in [source, *_test_folders(source)]
        if any(package.glob("*.py")) and not (TESTS / top / package.relative_to(source)).is_dir()
    ]
    assert missing == [], f"source packages without a test folder: {missing}"
