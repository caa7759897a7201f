"""What ships stays apart from dev/: no module under dags/, plugins/ or include/ imports a dev package."""

from __future__ import annotations

import ast
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ("dags", "plugins", "include")  # what the Dockerfile copies into the image
DEV_PACKAGES = frozenset({"local_stack", "demo", "demo_feeds", "benchmarks"})


def _dev_imports(path: Path) -> list[str]:
    """`file:line: import ...` for every import of a dev package in one file, nested imports included."""
    tree = ast.parse(path.read_bytes(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        if any(name.split(".")[0] in DEV_PACKAGES for name in names):
            found.append(f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_the_dev_packages_are_the_folders_of_dev() -> None:
    packages = {p.parent.name for p in (PROJECT_ROOT / "dev").glob("*/__init__.py")}
    assert packages == DEV_PACKAGES
    shipped = {p.name for folder in SHIPPED for p in (PROJECT_ROOT / folder).iterdir()}
    assert not {p.removesuffix(".py") for p in shipped} & DEV_PACKAGES  # no shipped module shadows a dev one


def test_shipped_code_never_imports_from_dev() -> None:
    files = sorted(
        p for folder in SHIPPED for p in (PROJECT_ROOT / folder).rglob("*.py") if "dbt_packages" not in p.parts
    )
    assert files, "no shipped Python files found"
    offenders = [line for path in files for line in _dev_imports(path)]
    assert not offenders, "shipped code imports from dev/, which the image does not have:\n" + "\n".join(offenders)


def test_the_image_build_context_leaves_dev_and_tests_out() -> None:
    ignored = {line.strip().rstrip("/") for line in (PROJECT_ROOT / ".dockerignore").read_text().splitlines()}
    assert {"dev", "tests", ".local", ".venv"} <= ignored
