"""The format registry: every delivery format module declares its FormatSpec as `FORMAT`; this lists the modules."""

from __future__ import annotations

from importlib import import_module

from ingest.parse.formats.spec import FormatSpec

# One module per format, in the order `--format` lists them. Adding a format: its module (with FORMAT), its tests,
# a README row, and its name here.
FORMAT_MODULES: tuple[str, ...] = (
    "adi", "tabular", "json_records", "eidr_registry", "mec", "mmc", "avails", "avails_xlsx",
)  # fmt: skip


def get_format(name: str) -> FormatSpec:
    """The spec for a format name; raises KeyError for an unknown one."""
    return _formats()[name]


def all_formats() -> list[FormatSpec]:
    """Every registered format."""
    return list(_formats().values())


def format_names() -> tuple[str, ...]:
    """Names accepted by `--format`."""
    return tuple(_formats())


def _formats() -> dict[str, FormatSpec]:
    specs = [import_module(f"{__name__}.{module}").FORMAT for module in FORMAT_MODULES]
    return {spec.name: spec for spec in specs}
