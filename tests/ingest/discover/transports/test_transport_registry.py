"""The transport registry: every driver declares its schemes and every variable it reads, and is registered."""

from __future__ import annotations

import ast
from importlib import import_module
from pathlib import Path
from types import ModuleType

import pytest

from ingest import contract
from ingest.discover import transports
from ingest.discover.sources import rest_api
from ingest.discover.transports import SCHEMES, TRANSPORTS, open_location
from ingest.discover.transports.base import TransportSpec
from ingest.models import UsageError

TRANSPORTS_DIR = Path(transports.__file__).parent
DRIVERS = sorted(p.stem for p in TRANSPORTS_DIR.glob("*.py") if p.stem not in ("__init__", "base"))


def _variables_read(module: ModuleType) -> set[str]:
    """Names the module reads from `env`: env.get(X) / env[X] with X a literal or a module constant, and every
    module-level tuple of names ending in _ENVS."""
    found: set[str] = {name for key, value in vars(module).items() if key.endswith("_ENVS") for name in value}
    tree = ast.parse(Path(module.__file__ or "").read_text(encoding="utf-8"))

    def value_of(node: ast.expr) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name) and isinstance(getattr(module, node.id, None), str):
            return getattr(module, node.id)
        return None

    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
            target = node.func.value
            if isinstance(target, ast.Name) and target.id == "env" and node.args and (name := value_of(node.args[0])):
                found.add(name)
        elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "env":
            name = value_of(node.slice)
            if name:
                found.add(name)
    return found


def test_every_transport_module_declares_a_spec_and_is_registered() -> None:
    declared = [import_module(f"ingest.discover.transports.{name}").TRANSPORT for name in DRIVERS]
    assert all(isinstance(spec, TransportSpec) for spec in declared)
    assert sorted(TRANSPORTS, key=lambda s: s.name) == sorted(declared, key=lambda s: s.name)


@pytest.mark.parametrize("module", [*DRIVERS, "rest_api"])
def test_every_transport_declares_schemes_and_the_variables_it_reads(module: str) -> None:
    loaded = rest_api if module == "rest_api" else import_module(f"ingest.discover.transports.{module}")
    spec: TransportSpec = loaded.TRANSPORT
    assert spec.schemes
    declared = {credential.env for credential in spec.credentials}
    settings = {contract.DROP_ROOT_ENV}  # not a credential: where relative local paths live
    assert _variables_read(loaded) <= declared | settings
    for credential in spec.credentials:
        field = credential.connection_field
        assert field is None or field in ("login", "password") or field.startswith("extra."), credential


def test_the_variable_check_sees_what_a_driver_reads() -> None:
    s3 = import_module("ingest.discover.transports.s3")
    assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "MEDIA_S3_ENDPOINT_URL", "AWS_REGION"} <= _variables_read(s3)


def test_no_scheme_belongs_to_two_transports() -> None:
    schemes = [scheme for spec in TRANSPORTS for scheme in spec.schemes]
    assert len(schemes) == len(set(schemes))
    assert SCHEMES == ("file", "s3", "sftp", "http", "https")


def test_an_unregistered_scheme_names_the_registered_ones() -> None:
    with pytest.raises(UsageError, match="expected a path or one of file, s3, sftp, http, https"):
        open_location("ftp://example.org/drop", {})
