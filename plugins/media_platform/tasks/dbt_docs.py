"""The dbt_docs task's callback: the generated docs site copied where operators find it."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def save_dbt_docs(project_dir: str, destination: str, **_: Any) -> None:
    """Cosmos callback: keep the generated dbt docs site where operators (and `make docs`) find it."""
    import shutil

    target = Path(project_dir) / "target"
    out = Path(destination)
    out.mkdir(parents=True, exist_ok=True)
    for name in ("index.html", "manifest.json", "catalog.json"):
        if (target / name).exists():
            shutil.copy2(target / name, out / name)
