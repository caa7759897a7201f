"""MovieLabs XML helpers shared by the MEC, MMC and Avails parsers, and their one quarantine row per problem."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any, TypeVar
from xml.etree.ElementTree import Element, tostring

from ingest import eidr
from ingest.limits import MAX_RAW_RECORD_CHARS, MAX_XML_DEPTH
from ingest.models import ParseOutcome, Quarantined, Rejected
from ingest.parse.formats import fields
from ingest.parse.formats.safe_xml import local_name, parse_xml
from ingest.record_text import raw_text

_DURATION = re.compile(r"^P(?:(\d{1,4})D)?(?:T(?:(\d{1,5})H)?(?:(\d{1,6})M)?(?:(\d{1,7}(?:\.\d+)?)S)?)?$")
_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:Z|[+-]\d{2}:\d{2})?$")
T = TypeVar("T")


def kids(element: Element | None, name: str) -> list[Element]:
    """Direct children with local name `name`, in document order (none under an absent element)."""
    return [] if element is None else [child for child in element if local_name(child.tag) == name]


def first(element: Element | None, *path: str) -> Element | None:
    """The first element down a path of local names, or None."""
    for name in path:
        if element is None:
            return None
        element = next((child for child in element if local_name(child.tag) == name), None)
    return element


def text_at(element: Element | None, *path: str) -> str | None:
    """Stripped text of the first element down a path of local names; empty or absent is None."""
    found = first(element, *path) if path else element
    return fields.text(found.text) if found is not None else None


def texts_at(element: Element, name: str) -> list[str]:
    """Non-empty stripped texts of the direct children named `name`."""
    return [value for child in kids(element, name) if (value := fields.text(child.text))]


def walk(root: Element, names: tuple[str, ...]) -> Iterator[tuple[Element, str]]:
    """Elements with one of the local names, anywhere under root (not inside each other), with their XPath-like path."""

    def visit(element: Element, path: str, depth: int) -> Iterator[tuple[Element, str]]:
        if depth > MAX_XML_DEPTH:
            raise Rejected(f"elements nested deeper than {MAX_XML_DEPTH} levels", path)
        seen: dict[str, int] = {}
        for child in element:
            name = local_name(child.tag)
            if not name:  # comments and processing instructions
                continue
            seen[name] = seen.get(name, 0) + 1
            child_path = f"{path}/{name}[{seen[name]}]"
            if name in names:
                yield child, child_path
            else:
                yield from visit(child, child_path, depth + 1)

    yield from visit(root, f"/{local_name(root.tag)}", 0)


def element_json(element: Element, depth: int = 0) -> Any:
    """Everything an element holds as plain JSON: a leaf without attributes is its text; otherwise a dict with
    `@attribute` keys, `#text` and one list per child local name (document order within a name)."""
    if depth > MAX_XML_DEPTH:
        raise Rejected(f"elements nested deeper than {MAX_XML_DEPTH} levels")
    attributes = {f"@{local_name(name)}": value for name, value in element.attrib.items()}
    children = [child for child in element if local_name(child.tag)]
    body = element.text.strip() if element.text else ""
    if not attributes and not children:
        return body
    value: dict[str, Any] = dict(attributes)
    if body:
        value["#text"] = body
    for child in children:
        value.setdefault(local_name(child.tag), []).append(element_json(child, depth + 1))
    return value


def record_hash(record: Any) -> str:
    """SHA-256 of the record's canonical JSON: follows content, not formatting or position in the file."""
    canonical = json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def element_text(element: Element) -> str:
    """An element serialised for raw.quarantine (namespace prefixes become ns0:...), capped in size."""
    try:
        serialised = tostring(element, encoding="unicode")
    except Exception as err:  # noqa: BLE001 - a quarantine row must still be written
        serialised = f"[element could not be serialised: {type(err).__name__}]"
    return raw_text(serialised.encode("utf-8", "surrogatepass")[: MAX_RAW_RECORD_CHARS + 1])


def eidr_columns(value: str | None) -> dict[str, Any]:
    """eidr_id_provided / eidr_id / eidr_status / eidr_invalid_reason of one provided value (ingest.eidr rules)."""
    checked = eidr.parse_eidr(value)
    return {
        "eidr_id_provided": fields.text(value),
        "eidr_id": checked.canonical,
        "eidr_status": checked.status.value,
        "eidr_invalid_reason": checked.reason,
    }


def claims_eidr(value: str | None) -> bool:
    """Whether an ID claims to be an EIDR (md:cid:eidr-s:..., urn:eidr:..., 10.5240/...), valid or not; a provider's
    own content ID (md:cid:org:..., 030434) does not, so it leaves the EIDR missing rather than invalid."""
    checked = eidr.parse_eidr(value)
    return checked.status is eidr.EidrStatus.VALID or checked.kind is not None


def duration_minutes(value: str) -> int:
    """An ISO 8601 duration (PT1H30M, PT117M00.0S, PT01H37M49S) as whole minutes, rounded half up."""
    match = _DURATION.match(value.strip().upper())
    if not match or not any(match.groups()) or value.strip().upper().endswith("T"):
        raise ValueError("expected an ISO 8601 duration like PT1H30M")
    days, hours, minutes, seconds = (float(part) if part else 0.0 for part in match.groups())
    total = days * 86400 + hours * 3600 + minutes * 60 + seconds
    return int(total // 60 + (1 if total % 60 >= 30 else 0))


def iso_date(value: str) -> date:
    """An xs:date (2013-10-25, optionally with a zone) as a date."""
    match = _DATE.match(value.strip())
    if not match:
        raise ValueError("expected YYYY-MM-DD")
    return date.fromisoformat(match.group(1))


class Converter:
    """Collects every bad value of one record, so a single quarantine reason names them all."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def __call__(self, name: str, value: Any, parse: Callable[[Any], T]) -> T | None:
        if value is None:
            return None
        try:
            return parse(value)
        except (ValueError, TypeError, OverflowError) as err:
            self.errors.append(f"bad {name} {str(value)[:80]!r}: {err}")
            return None

    def require(self, name: str, value: Any) -> None:
        """Note a required value that is absent."""
        if value is None or value == "":
            self.errors.append(f"no {name}")

    def check(self) -> None:
        """Raise Rejected with every collected error."""
        if self.errors:
            raise Rejected("; ".join(self.errors))


def xml_document(data: bytes, source_file: str, read: Callable[[Element], list[ParseOutcome]]) -> list[ParseOutcome]:
    """Parse a whole document safely and hand the root to `read`; a document-level problem is one quarantine row."""
    try:
        return read(parse_xml(data))
    except Rejected as err:
        return [Quarantined(source_file, err.location(source_file), err.reason, raw_text(data))]
    except Exception as err:  # a single file must never abort the batch
        reason = f"unexpected parser error: {type(err).__name__}: {err}"
        return [Quarantined(source_file, source_file, reason, raw_text(data))]


def each_record(
    source_file: str, items: list[tuple[Element, str]], convert: Callable[[Element, str], ParseOutcome]
) -> list[ParseOutcome]:
    """Convert each located element; a problem with one (even a parser bug) quarantines that one only."""
    outcomes: list[ParseOutcome] = []
    for element, path in items:
        location = f"{source_file}#{path}"
        try:
            outcomes.append(convert(element, location))
        except Rejected as err:
            where = err.location(source_file, location)
            outcomes.append(Quarantined(source_file, where, err.reason, element_text(element)))
        except Exception as err:  # noqa: BLE001
            reason = f"unexpected parser error: {type(err).__name__}: {err}"
            outcomes.append(Quarantined(source_file, location, reason, element_text(element)))
    return outcomes
