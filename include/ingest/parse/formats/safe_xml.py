"""Untrusted XML parsed safely: defusedxml (no entity expansion, nothing fetched), file and field size limits.

`parse_xml` builds an ElementTree. `expat_parser` and `run_expat` are for parsers that build their own structure
from pyexpat callbacks (the ADI parser): the same expat settings, the same protections and the same Rejected
reasons and positions as `parse_xml`, without building a tree.
"""

from __future__ import annotations

from typing import Any, NoReturn
from xml.etree.ElementTree import Element, ParseError
from xml.parsers import expat

from defusedxml import DefusedXmlException
from defusedxml.common import EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import fromstring

from ingest.limits import MAX_FIELD_CHARS, MAX_FILE_BYTES, MAX_XML_ELEMENTS, MAX_XML_NESTING
from ingest.models import Rejected


def parse_xml(data: bytes) -> Element:
    """Parse a whole document; raise Rejected for oversized, malformed or entity-declaring input.

    A DOCTYPE with a SYSTEM id (ADI's `<!DOCTYPE ADI SYSTEM "ADI.DTD">`) is allowed and never fetched.
    """
    _check_sizes(data)
    try:
        root = fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except ParseError as err:
        raise Rejected(f"malformed XML: {err}", position=getattr(err, "position", None)) from None
    except DefusedXmlException as err:
        raise Rejected(f"forbidden XML construct: {err!r}") from None
    except LookupError as err:  # the XML declaration names an encoding Python does not know
        raise Rejected(f"malformed XML: {err}") from None
    if len(data) > MAX_FIELD_CHARS:  # a field longer than the limit needs more bytes than that (nothing is expanded)
        _check_field_sizes(root)
    if data.count(b"<") > MAX_XML_NESTING:
        _check_nesting(root)
    return root


def _check_nesting(root: Element) -> None:
    """Raise Rejected when elements nest deeper than MAX_XML_NESTING (checked without recursion, so that the code
    walking the tree afterwards, recursive or not, never meets deeper documents)."""
    stack = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        if depth > MAX_XML_NESTING:
            raise Rejected(f"elements nested deeper than {MAX_XML_NESTING} levels")
        stack.extend((child, depth + 1) for child in element)


def expat_parser() -> Any:
    """A pyexpat parser set up as `parse_xml`'s (defusedxml's ElementTree parser) is, for callers that set their own
    StartElementHandler and EndElementHandler and run it with `run_expat`.

    Names are namespace-expanded as `uri}local` (ElementTree writes `{uri}local`). Attributes come as ElementTree
    gets them: a list [name, value, name, value...] in document order, then any a DTD's ATTLIST gives a default
    value to. Entity declarations (so entity expansion and external entities) raise `EntitiesForbidden`, external
    references raise `ExternalReferenceForbidden`, a DOCTYPE's SYSTEM id is never fetched, an undefined entity is an
    `expat.error` with ElementTree's message. Character data is not kept.
    """
    parser = expat.ParserCreate(None, "}", None)  # names are not interned: faster for small documents
    parser.ordered_attributes = True
    parser.EntityDeclHandler = _forbid_entity_decl
    parser.UnparsedEntityDeclHandler = _forbid_unparsed_entity_decl
    parser.ExternalEntityRefHandler = _forbid_external_entity_ref
    parser.SkippedEntityHandler = _UndefinedEntity(parser)
    return parser


def run_expat(parser: Any, data: bytes) -> None:
    """Parse the whole document with a parser from `expat_parser`, raising Rejected as `parse_xml` does for an
    oversized, malformed or entity-declaring document (callers check field sizes; see MAX_FIELD_CHARS).
    """
    _check_sizes(data)
    try:
        parser.Parse(data, True)  # one call: the same events, errors and positions as ElementTree's feed() and close()
    except expat.error as err:
        raise Rejected(f"malformed XML: {err}", position=(err.lineno, err.offset)) from None
    except DefusedXmlException as err:
        raise Rejected(f"forbidden XML construct: {err!r}") from None
    except LookupError as err:  # the XML declaration names an encoding Python does not know
        raise Rejected(f"malformed XML: {err}") from None
    finally:
        parser.SkippedEntityHandler = None  # the handler refers to the parser: no reference cycle left behind


def _check_sizes(data: bytes) -> None:
    """Raise Rejected for a document over MAX_FILE_BYTES, or with more than MAX_XML_ELEMENTS tags (counted from the
    bytes, before anything is built: `<` not followed by `/`, an upper bound)."""
    if len(data) > MAX_FILE_BYTES:
        raise Rejected(f"file too large: more than {MAX_FILE_BYTES} bytes")
    if len(data) > MAX_XML_ELEMENTS and data.count(b"<") - data.count(b"</") > MAX_XML_ELEMENTS:
        raise Rejected(
            f"too many XML elements: more than {MAX_XML_ELEMENTS} in one file (building them would take too much"
            " memory); deliver smaller files"
        )


def _forbid_entity_decl(
    name: str, is_parameter_entity: bool, value: str | None, base: str | None, sysid: str | None, pubid: str | None,
    notation_name: str | None,
) -> NoReturn:  # fmt: skip
    raise EntitiesForbidden(name, value, base, sysid, pubid, notation_name)


def _forbid_unparsed_entity_decl(
    name: str, base: str | None, sysid: str | None, pubid: str | None, notation_name: str | None
) -> NoReturn:
    raise EntitiesForbidden(name, None, base, sysid, pubid, notation_name)  # pragma: no cover - expat 2 uses the above


def _forbid_external_entity_ref(context: str, base: str | None, sysid: str | None, pubid: str | None) -> NoReturn:
    raise ExternalReferenceForbidden(context, base, sysid, pubid)


class _UndefinedEntity:
    """A reference to an entity expat cannot resolve (the document has a DTD it does not read): an error, as in
    ElementTree, which is handed it by expat's default handler (`XMLParser._default`) with the same message.
    Content only: expat skips such references in attribute values silently, for ElementTree too.
    """

    __slots__ = ("parser",)

    def __init__(self, parser: Any):
        self.parser = parser

    def __call__(self, name: str, is_parameter_entity: bool) -> None:
        if is_parameter_entity:  # pragma: no cover - only reported when parameter entities are parsed, never here
            return
        line, column = self.parser.ErrorLineNumber, self.parser.ErrorColumnNumber
        err = expat.error(f"undefined entity &{name};: line {line}, column {column}")
        err.code = 11  # XML_ERROR_UNDEFINED_ENTITY, as ElementTree sets it
        err.lineno = line
        err.offset = column
        raise err


def _check_field_sizes(root: Element) -> None:
    for element in root.iter():
        for name, value in element.attrib.items():
            if len(value) > MAX_FIELD_CHARS:
                raise Rejected(
                    f"field too long: <{local_name(element.tag)}> attribute {name} of {_label(element)}"
                    f"has {len(value)} characters, limit {MAX_FIELD_CHARS}"
                )
        for text in (element.text, element.tail):
            if text and len(text) > MAX_FIELD_CHARS:
                raise Rejected(
                    f"field too long: text in <{local_name(element.tag)}> has {len(text)} characters, "
                    f"limit {MAX_FIELD_CHARS}"
                )


def _label(element: Element) -> str:
    name = element.attrib.get("Name")
    return f"Name={name[:80]!r} " if name else ""


def local_name(tag: str) -> str:
    """A tag without its `{namespace}` part, so namespaced ADI variants are read the same way."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""
