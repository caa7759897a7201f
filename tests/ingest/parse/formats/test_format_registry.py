"""The format registry: every format module declares a FormatSpec as FORMAT and is registered, once."""

from __future__ import annotations

import ast
from importlib import import_module
from pathlib import Path

from ingest.parse import formats
from ingest.parse.formats import FORMAT_MODULES, all_formats, format_names, get_format
from ingest.parse.formats.spec import FormatSpec

FORMATS_DIR = Path(formats.__file__).parent


def _declares_format(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(
        isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "FORMAT" for t in node.targets)
        for node in tree.body
    )


def test_every_format_module_declares_a_spec_and_is_registered() -> None:
    declaring = {path.stem for path in FORMATS_DIR.glob("*.py") if _declares_format(path)}
    assert declaring == set(FORMAT_MODULES)
    for module in FORMAT_MODULES:
        assert isinstance(import_module(f"ingest.parse.formats.{module}").FORMAT, FormatSpec), module


def test_format_names_are_unique_and_each_spec_is_found_by_its_name() -> None:
    names = format_names()
    assert len(names) == len(set(names)) == len(FORMAT_MODULES)
    assert names == ("adi", "csv", "json", "eidr_registry", "mec", "mmc", "avails_xml", "avails_xlsx")
    for spec in all_formats():
        assert get_format(spec.name) is spec


def test_every_spec_creates_its_table_with_its_columns() -> None:
    for spec in all_formats():
        assert f"raw.{spec.table} (" in spec.ddl, spec.name
        for column in spec.columns:
            assert f"\n    {column} " in spec.ddl, (spec.name, column)
        assert spec.columns[-1] == "record", spec.name
