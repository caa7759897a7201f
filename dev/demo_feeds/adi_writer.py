"""Write CableLabs ADI 1.1 package XML (for demo data and tests), shaped like real provider files."""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree import ElementTree as ET

XML_HEADER = '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE ADI SYSTEM "ADI.DTD">\n'


@dataclass(frozen=True)
class Ams:
    """AMS attributes every asset of a package shares: who sends it, which version, and the verb."""

    provider: str
    provider_id: str
    product: str
    creation_date: str
    version_major: int = 1
    version_minor: int = 0
    verb: str = ""


@dataclass(frozen=True)
class AssetSpec:
    """One asset (package, title, movie, preview, poster...): its id, App_Data pairs, content file and children."""

    asset_class: str
    asset_id: str | None
    asset_name: str
    description: str
    app_data: tuple[tuple[str, str], ...] = ()
    content: str | None = None
    children: tuple[AssetSpec, ...] = ()


def render_package(package: AssetSpec, ams: Ams) -> bytes:
    """The package as UTF-8 ADI XML with the usual declaration and DOCTYPE; the package's children are assets."""
    root = ET.Element("ADI")
    _metadata(root, package, ams)
    for child in package.children:
        _asset(root, child, ams)
    ET.indent(root, space=" ")
    return (XML_HEADER + ET.tostring(root, encoding="unicode") + "\n").encode("utf-8")


def _asset(parent: ET.Element, spec: AssetSpec, ams: Ams) -> None:
    element = ET.SubElement(parent, "Asset")
    _metadata(element, spec, ams)
    if spec.content is not None:
        ET.SubElement(element, "Content", {"Value": spec.content})
    for child in spec.children:
        _asset(element, child, ams)


def _metadata(parent: ET.Element, spec: AssetSpec, ams: Ams) -> None:
    metadata = ET.SubElement(parent, "Metadata")
    attributes = {
        "Asset_Class": spec.asset_class,
        "Asset_ID": spec.asset_id,
        "Asset_Name": spec.asset_name,
        "Creation_Date": ams.creation_date,
        "Description": spec.description,
        "Product": ams.product,
        "Provider": ams.provider,
        "Provider_ID": ams.provider_id,
        "Verb": ams.verb,
        "Version_Major": str(ams.version_major),
        "Version_Minor": str(ams.version_minor),
    }
    ET.SubElement(metadata, "AMS", {k: v for k, v in attributes.items() if v is not None})
    for name, value in spec.app_data:
        ET.SubElement(metadata, "App_Data", {"App": "MOD", "Name": name, "Value": value})
