"""Untrusted XML parsed safely: defusedxml (no entity expansion, nothing fetched), file and field size limits."""

from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_FIELD_CHARS = 64 * 1024
MAX_RAW_RECORD_CHARS = 1024 * 1024


class XmlRejected(ValueError):
    """A document that is not loaded: the reason, and where in the file when the parser knows."""

    def __init__(self, reason: str, position: tuple[int, int] | None = None):
        super().__init__(reason)
        self.reason = reason
        self.position = position


def parse_xml(data: bytes) -> Element:
    """Parse a whole document; raise XmlRejected for oversized, malformed or entity-declaring input.

    A DOCTYPE with a SYSTEM id (ADI's `<!DOCTYPE ADI SYSTEM "ADI.DTD">`) is allowed and never fetched.
    """
    if len(data) > MAX_FILE_BYTES:
        raise XmlRejected(f"file too large: more than {MAX_FILE_BYTES} bytes")
    try:
        root = fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except ParseError as err:
        raise XmlRejected(f"malformed XML: {err}", getattr(err, "position", None)) from None
    except DefusedXmlException as err:
        raise XmlRejected(f"forbidden XML construct: {err!r}") from None
    _check_field_sizes(root)
    return root


def _check_field_sizes(root: Element) -> None:
    for element in root.iter():
        for name, value in element.attrib.items():
            if len(value) > MAX_FIELD_CHARS:
                raise XmlRejected(
                    f"field too long: <{local_name(element.tag)}> attribute {name} of {_label(element)}"
                    f"has {len(value)} characters, limit {MAX_FIELD_CHARS}"
                )
        for text in (element.text, element.tail):
            if text and len(text) > MAX_FIELD_CHARS:
                raise XmlRejected(
                    f"field too long: text in <{local_name(element.tag)}> has {len(text)} characters, "
                    f"limit {MAX_FIELD_CHARS}"
                )


def _label(element: Element) -> str:
    name = element.attrib.get("Name")
    return f"Name={name[:80]!r} " if name else ""


def local_name(tag: str) -> str:
    """A tag without its `{namespace}` part, so namespaced ADI variants are read the same way."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def raw_text(data: bytes) -> str:
    """The file as text for raw.quarantine: UTF-8 when it is, else Latin-1 (byte-for-byte reversible).

    NUL characters, which PostgreSQL text cannot hold, become U+FFFD; an oversized file keeps its head only.
    """
    head = data[:MAX_RAW_RECORD_CHARS]
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = head.decode("latin-1")
    text = text.replace("\x00", "\ufffd")
    if len(data) > MAX_RAW_RECORD_CHARS:
        text += f"\n[truncated: file has more than {MAX_RAW_RECORD_CHARS} bytes]"
    return text
