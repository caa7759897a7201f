"""The SQL linter renders every dbt model without a warehouse: the `adapter` stand-in leaves no templating error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

DBT_PROJECT = Path(__file__).resolve().parents[3] / "include" / "dbt"


def test_the_linter_renders_the_model_that_asks_the_adapter_for_columns() -> None:
    titles = DBT_PROJECT / "models" / "marts" / "titles.sql"
    # titles calls the macro that asks the adapter for an existing mart's columns (the upgrade to the delta contract)
    assert "mart_delta_upgrade()" in titles.read_text()
    assert "adapter.get_columns_in_relation" in (DBT_PROJECT / "macros" / "mart_delta.sql").read_text()
    done = subprocess.run(
        [sys.executable, "-m", "sqlfluff", "lint", "--format", "json", str(titles.relative_to(DBT_PROJECT))],
        cwd=DBT_PROJECT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    [result] = json.loads(done.stdout)
    codes = {violation["code"] for violation in result["violations"]}
    assert "TMP" not in codes, result["violations"]
