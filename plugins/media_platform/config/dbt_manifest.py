"""What the platform reads from the prebuilt dbt manifest: the published marts and their keys, the views to
re-create, the values a column accepts."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

_VIEW_LAYERS = ("staging", "intermediate")
# How the model YAMLs name a list kept in the project's vars: `values: "{{ var('asset_types') }}"`.
_VAR_REFERENCE = re.compile(r"^\{\{\s*var\(\s*['\"](\w+)['\"]\s*\)\s*\}\}$")


class ManifestMissingError(FileNotFoundError):
    """The dbt manifest has not been built; DAGs are rendered from it."""


def require_manifest(path: Path) -> Path:
    """The manifest's path, or ManifestMissingError saying how to build it (DAGs are rendered from it)."""
    if not path.exists():
        raise ManifestMissingError(
            f"{path} not found: build it with `make dbt-manifest` (dbt parse) before parsing DAGs"
        )
    return path


def load_manifest(path: Path) -> dict[str, Any]:
    """The parsed manifest.json, read once per process (again only when the file changes)."""
    stat = require_manifest(path).stat()
    return _read_manifest(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=4)
def _read_manifest(path: str, mtime_ns: int, size: int) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _models(manifest: Mapping[str, Any]) -> Iterable[dict[str, Any]]:
    return (node for node in manifest["nodes"].values() if node["resource_type"] == "model")


def published_marts(manifest_path: Path) -> tuple[str, ...]:
    """Names of the marts marked `meta: {publish: true}` in their model YAML, sorted: what publish_reporting
    audits and publishes. The single list of published tables; nothing else names them."""
    manifest = load_manifest(manifest_path)
    return tuple(sorted(node["name"] for node in _models(manifest) if node["config"].get("meta", {}).get("publish")))


def project_vars(dbt_project_dir: Path) -> dict[str, Any]:
    """The `vars:` of dbt_project.yml: the lists the model YAMLs share (asset types, EIDR statuses)."""
    project = yaml.safe_load((dbt_project_dir / "dbt_project.yml").read_text(encoding="utf-8"))
    return dict(project.get("vars") or {})


def accepted_values(
    manifest: Mapping[str, Any], model: str, column: str, dbt_vars: Mapping[str, Any]
) -> tuple[str, ...]:
    """The values the accepted_values test of `model.column` allows, so a GX suite checks what dbt checks. dbt keeps
    test arguments unrendered in the manifest, so a `{{ var('name') }}` is looked up in dbt_vars (project_vars)."""
    model_ids = {node["unique_id"] for node in _models(manifest) if node["name"] == model}
    for node in manifest["nodes"].values():
        metadata = node.get("test_metadata") or {}
        if (
            node["resource_type"] == "test"
            and metadata.get("name") == "accepted_values"
            and node.get("attached_node") in model_ids
            and node.get("column_name") == column
        ):
            values = metadata["kwargs"]["values"]
            if isinstance(values, str):
                reference = _VAR_REFERENCE.match(values.strip())
                if not reference or reference.group(1) not in dbt_vars:
                    raise ValueError(f"{model}.{column}: accepted values {values!r} name no dbt project var")
                values = dbt_vars[reference.group(1)]
            return tuple(str(value) for value in values)
    raise LookupError(f"{model}.{column} has no accepted_values test in the dbt manifest")


class PublishKeyError(ValueError):
    """A published mart has no key (or an unclear one) to merge it into `reporting` by."""


def publish_keys(manifest_path: Path) -> dict[str, tuple[str, ...]]:
    """The key columns of every published mart, by name: what `publish` merges `audit` into `reporting` by.

    A mart's key is its `meta: {publish_key: [...]}` when declared (for a composite key), else the one column
    with a dbt `unique` test (on the whole table, not a `where` subset). A published mart without either, with
    several unique columns and no declared key, or declaring undocumented columns raises PublishKeyError naming it.
    """
    manifest = load_manifest(manifest_path)
    unique_columns: dict[str, set[str]] = {}
    for node in manifest["nodes"].values():
        test = node.get("test_metadata") or {}
        if node["resource_type"] != "test" or test.get("name") != "unique" or test.get("namespace"):
            continue
        if node["config"].get("where") or not node.get("attached_node") or not node.get("column_name"):
            continue
        unique_columns.setdefault(node["attached_node"], set()).add(node["column_name"])
    keys: dict[str, tuple[str, ...]] = {}
    problems = []
    for node in sorted(_models(manifest), key=lambda model: model["name"]):
        meta = node["config"].get("meta", {})
        if not meta.get("publish"):
            continue
        name, columns = node["name"], node.get("columns", {})
        declared = meta.get("publish_key")
        unique = sorted(column for column in unique_columns.get(node["unique_id"], ()) if column in columns)
        if declared is not None:
            if not isinstance(declared, list) or not declared or not all(isinstance(c, str) for c in declared):
                problems.append(f"{name}: meta publish_key must be a non-empty list of column names, got {declared!r}")
            elif undocumented := [column for column in declared if column not in columns]:
                problems.append(f"{name}: meta publish_key names columns the model YAML does not list: {undocumented}")
            else:
                keys[name] = tuple(declared)
        elif len(unique) == 1:
            keys[name] = (unique[0],)
        elif unique:
            problems.append(f"{name}: several unique columns {unique}; declare one in meta publish_key")
        else:
            problems.append(f"{name}: no column with a unique test; declare the key in meta publish_key")
    if problems:
        raise PublishKeyError("published marts without a publish key: " + "; ".join(problems))
    return keys


@dataclass(frozen=True)
class ViewDefinition:
    """One dbt view of the staging or intermediate layer, and a checksum of everything that makes up its SQL."""

    unique_id: str
    name: str
    schema: str
    identifier: str
    checksum: str

    @property
    def relation(self) -> str:
        return f"{self.schema}.{self.identifier}"


def view_definitions(
    manifest: Mapping[str, Any], dbt_vars: Mapping[str, Any] | None = None
) -> dict[str, ViewDefinition]:
    """Every staging and intermediate view by unique id. The checksum covers the model's SQL, the macros it calls,
    the relations of its sources, where it is built and the dbt vars it is built with (the configured providers),
    so it changes exactly when the view would differ."""
    macros = manifest.get("macros", {})
    sources = manifest.get("sources", {})
    views = {}
    for node in _models(manifest):
        if node["config"].get("materialized") != "view" or node["fqn"][1] not in _VIEW_LAYERS:
            continue
        depends_on = node.get("depends_on", {})
        parts = {
            "sql": node["checksum"]["checksum"],
            "vars": dict(dbt_vars or {}),
            "relation": [node["schema"], node["alias"]],
            "macros": {
                name: _sha256(macros[name]["macro_sql"]) for name in depends_on.get("macros", ()) if name in macros
            },
            "sources": sorted(
                f"{sources[name]['schema']}.{sources[name]['identifier']}"
                for name in depends_on.get("nodes", ())
                if name in sources
            ),
        }
        views[node["unique_id"]] = ViewDefinition(
            unique_id=node["unique_id"],
            name=node["name"],
            schema=node["schema"],
            identifier=node["alias"],
            checksum=_sha256(json.dumps(parts, sort_keys=True)),
        )
    return views


def views_to_deploy(
    manifest: Mapping[str, Any],
    deployed: Mapping[str, str],
    existing: Iterable[str],
    dbt_vars: Mapping[str, Any] | None = None,
) -> list[ViewDefinition]:
    """The views whose definition differs from the one last deployed, or that are missing from the warehouse, plus
    every view downstream of them (a view over `select *` keeps the columns it was created with). Sorted by name."""
    views = view_definitions(manifest, dbt_vars)
    present = set(existing)
    changed = [
        view.unique_id
        for view in views.values()
        if deployed.get(view.relation) != view.checksum or view.relation not in present
    ]
    child_map = manifest.get("child_map", {})
    selected: set[str] = set()
    while changed:
        unique_id = changed.pop()
        if unique_id in selected:
            continue
        selected.add(unique_id)
        changed.extend(child for child in child_map.get(unique_id, ()) if child in views)
    return sorted((views[unique_id] for unique_id in selected), key=lambda view: view.name)


def project_checksum(manifest: Mapping[str, Any], dbt_vars: Mapping[str, Any] | None = None) -> str:
    """One checksum of everything dbt builds from: every node's SQL or YAML checksum, every macro's SQL and the vars
    it runs with. It changes exactly when a build could produce something else from the same data."""
    parts = {
        "nodes": {uid: node.get("checksum", {}).get("checksum") for uid, node in manifest.get("nodes", {}).items()},
        "macros": {uid: _sha256(macro.get("macro_sql", "")) for uid, macro in manifest.get("macros", {}).items()},
        "vars": dict(dbt_vars or {}),
    }
    return _sha256(json.dumps(parts, sort_keys=True, default=str))


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
