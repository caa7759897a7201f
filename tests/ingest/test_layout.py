"""The ingest package's shape: no import cycles, nothing that climbs back up, no Airflow imports."""

from __future__ import annotations

import ast
from pathlib import Path

import ingest

PACKAGE_DIR = Path(ingest.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(PACKAGE_DIR.rglob("*.py"))}


def _imported(name: str, path: Path, known: set[str]) -> set[str]:
    """Modules of the package this one imports anywhere (top level or inside functions). Importing a.b.c runs
    a/__init__ and a/b/__init__ too: those count, except the packages the importing module itself is inside."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            targets = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            parts = target.split(".")
            for end in range(1, len(parts) + 1):
                candidate = ".".join(parts[:end])
                inside = package == candidate or package.startswith(candidate + ".")
                if candidate in known and candidate != name and not inside:
                    found.add(candidate)
    return found


def import_graph() -> dict[str, set[str]]:
    """module -> the package's modules it imports."""
    modules = _modules()
    return {name: _imported(name, path, set(modules)) for name, path in modules.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for child in sorted(graph[node]):
            if state.get(child) == 1:
                return [*stack[stack.index(child) :], child]
            if child not in state and (found := visit(child)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_module_imports_another_in_a_cycle() -> None:
    assert _cycle(import_graph()) is None


def test_the_cycle_check_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_the_graph_sees_imports_inside_functions() -> None:
    assert "ingest.run" in import_graph()["ingest.__main__"]


def _closure(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for child in graph[todo.pop()] - seen:
            seen.add(child)
            todo.append(child)
    return seen


def test_nothing_climbs_back_up_to_the_run_or_the_cli() -> None:
    graph = import_graph()
    for name, imported in graph.items():
        if name != "ingest.__main__":
            assert "ingest.__main__" not in imported, name
        if name not in ("ingest.__main__", "ingest.run"):
            assert "ingest.run" not in imported, name


def test_the_contract_and_the_registries_import_no_stage_logic() -> None:
    graph = import_graph()
    stages = {"ingest.run", "ingest.discover.files", "ingest.parse.files", "ingest.parse.group", "ingest.parse.pool"}
    stages |= {name for name in graph if name.startswith("ingest.load.") and name != "ingest.load.raw_tables"}
    for start in ("ingest.contract", "ingest.discover.transports", "ingest.parse.formats"):
        assert not _closure(graph, start) & stages, start


def test_no_module_imports_airflow() -> None:
    for name, path in _modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not any(n == "airflow" or n.startswith("airflow.") for n in names), name
