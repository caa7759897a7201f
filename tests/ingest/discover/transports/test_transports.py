"""Transports: location URLs, picking by folder date or mtime, escaping names, and HTTP index listings."""

from __future__ import annotations

import functools
import io
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from ingest.discover.files import files_for_interval, resolve_location
from ingest.discover.transports import open_location, safe_url
from ingest.discover.transports.base import Entry, Location
from ingest.limits import MAX_FILE_BYTES
from ingest.models import SourceFile, UsageError
from ingest.parse.files import parse_files
from ingest.parse.formats import get_format

NOV_2 = datetime(2026, 11, 2, tzinfo=UTC)
DAY = timedelta(days=1)


def _write(root: Path, relative: str, data: bytes = b"<ADI/>", mtime: datetime | None = None) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if mtime is not None:
        os.utime(path, (mtime.timestamp(), mtime.timestamp()))
    return path


def test_a_relative_absolute_or_file_url_location_opens_the_same_folder(tmp_path: Path) -> None:
    (tmp_path / "acme").mkdir()
    env = {"MEDIA_DROP_ROOT": str(tmp_path)}
    roots = {open_location(loc, env).root for loc in ("acme", str(tmp_path / "acme"), f"file://{tmp_path}/acme")}
    assert roots == {str(tmp_path / "acme")}
    assert open_location("acme", env).key == "acme"


@pytest.mark.parametrize(
    "location",
    ["sftp://bob:hunter2@127.0.0.1/drop", "s3://AKIAXXX:hunter2@bucket/prefix", "https://bob:hunter2@example/x"],
)
def test_credentials_in_a_location_are_refused_without_echoing_them(location: str) -> None:
    with pytest.raises(UsageError, match="credentials in --location are not allowed") as err:
        open_location(location, {})
    assert "hunter2" not in str(err.value)


def test_safe_url_drops_user_password_and_query() -> None:
    assert safe_url("sftp://bob:pw@host:2222/drop/x?token=abc") == "sftp://host:2222/drop/x"
    assert safe_url("relative/path") == "relative/path"


def test_an_unknown_scheme_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unsupported location scheme 'ftp'"):
        open_location("ftp://example/drop", {})


def test_pick_by_modified_time_takes_files_anywhere_below_with_mtime_in_the_interval(tmp_path: Path) -> None:
    _write(tmp_path, "a.xml", mtime=NOV_2 - timedelta(seconds=1))
    _write(tmp_path, "b.xml", mtime=NOV_2)
    _write(tmp_path, "deep/er/c.XML", mtime=NOV_2 + timedelta(hours=23))
    _write(tmp_path, "d.xml", mtime=NOV_2 + DAY)
    _write(tmp_path, "notes.txt", mtime=NOV_2)
    _write(tmp_path, ".partial/e.xml", mtime=NOV_2)
    files = files_for_interval(tmp_path, "*.xml", "%Y-%m-%d", NOV_2, NOV_2 + DAY, "modified_time")
    assert [f.relative for f in files] == ["b.xml", "deep/er/c.XML"]
    assert files[0].modified_at == NOV_2 and files[0].size == 6


def test_pick_by_path_date_ignores_mtime(tmp_path: Path) -> None:
    _write(tmp_path, "2026-11-02/late.xml", mtime=NOV_2 + 5 * DAY)
    files = files_for_interval(tmp_path, "*.xml", "%Y-%m-%d", NOV_2, NOV_2 + DAY)
    assert [f.relative for f in files] == ["2026-11-02/late.xml"]


def test_symlinks_inside_are_followed_and_symlinks_outside_are_rejected(tmp_path: Path) -> None:
    drop, outside = tmp_path / "drop", tmp_path / "outside"
    secret = _write(outside, "secret.xml", b"<secret/>")
    _write(outside, "2026-11-02/x.xml")
    kept = _write(drop, "2026-11-02/kept.xml")
    (drop / "2026-11-02" / "alias.xml").symlink_to(kept)
    (drop / "2026-11-02" / "leak.xml").symlink_to(secret)
    (drop / "2026-11-02" / "dangling.xml").symlink_to(drop / "nowhere.xml")
    os.mkfifo(drop / "2026-11-02" / "pipe.xml")
    (drop / "2026-11-03").symlink_to(outside / "2026-11-02", target_is_directory=True)
    files = files_for_interval(drop, "*.xml", "%Y-%m-%d", NOV_2, NOV_2 + 2 * DAY)
    by_name = {f.relative: f.rejected for f in files}
    assert by_name == {
        "2026-11-02/alias.xml": None,
        "2026-11-02/kept.xml": None,
        "2026-11-02/leak.xml": "symlink points outside the drop location",
        "2026-11-02/dangling.xml": "not a regular file",
        "2026-11-02/pipe.xml": "not a regular file",
    }
    with files[0].opener() as handle:
        assert handle.read() == b"<ADI/>"


def test_names_with_dot_dot_or_absolute_parts_are_rejected(tmp_path: Path) -> None:
    """A remote listing can return any name; a fake listing stands in for a hostile server."""

    class Listing(Location):
        def list(self, path: str) -> list[Entry]:
            names = {
                "/drop": [Entry("/drop/2026-11-02", True, 0, None)],
                "/drop/2026-11-02": [
                    Entry("/drop/2026-11-02/ok.xml", False, 1, None),
                    Entry("/drop/2026-11-02/../../etc/evil.xml", False, 1, None),
                    Entry("/drop/2026-11-02//etc/abs.xml", False, 1, None),
                    Entry("/elsewhere/other.xml", False, 1, None),
                ],
            }
            return names[path]

    files = files_for_interval(Listing(None, "/drop", "test:///drop", "x"), "*.xml", "%Y-%m-%d", NOV_2, NOV_2 + DAY)
    assert {f.relative: f.rejected for f in files} == {
        "2026-11-02/ok.xml": None,
        "2026-11-02/../../etc/evil.xml": "path escapes the drop location",
        "2026-11-02//etc/abs.xml": "path escapes the drop location",
        "/elsewhere/other.xml": "path escapes the drop location",
    }


def test_a_missing_folder_url_names_the_location(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="drop location not found"):
        resolve_location(f"file://{tmp_path}/nope", {})


@pytest.fixture()
def http_drop(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A plain HTTP server with directory index pages over a folder, on 127.0.0.1 and a free port."""
    handler = functools.partial(_QuietHandler, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield tmp_path, f"http://127.0.0.1:{server.server_address[1]}/drop"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


def test_http_index_pages_are_listed_by_folder_date(http_drop: tuple[Path, str]) -> None:
    root, url = http_drop
    _write(root, "drop/2026-11-01/a.xml")
    _write(root, "drop/2026-11-02/b.xml", b"<B/>")
    _write(root, "drop/2026-11-02/c.txt")
    _write(root, "secret.xml")
    location = open_location(url, {"MEDIA_HTTP_TOKEN": "t0ken"})
    files = files_for_interval(location, "*.xml", "%Y-%m-%d", NOV_2, NOV_2 + DAY)
    assert [(f.relative, f.rejected) for f in files] == [("2026-11-02/b.xml", None)]
    with files[0].opener() as handle:
        assert handle.read() == b"<B/>"
    with pytest.raises(UsageError, match="gives no modification time"):
        files_for_interval(location, "*.xml", "%Y-%m-%d", NOV_2, NOV_2 + DAY, "modified_time")


class _Endless(io.RawIOBase):
    """A stream that never ends (a hostile or broken server), counting what was read from it."""

    def __init__(self) -> None:
        self.served = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        buffer[:] = b"x" * len(buffer)
        self.served += len(buffer)
        return len(buffer)


def test_reading_stops_at_the_size_cap_and_quarantines_the_file() -> None:
    stream = _Endless()
    endless = SourceFile("2026-11-02/endless.xml", None, None, lambda: stream)
    parsed = parse_files(get_format("adi"), [endless])
    assert [q.reason for q in parsed.quarantined] == [f"file too large: more than {MAX_FILE_BYTES} bytes"]
    assert stream.served == MAX_FILE_BYTES + 1 and parsed.records == []


def test_a_file_listed_as_too_large_is_not_even_opened() -> None:
    def never() -> Any:
        raise AssertionError("opened")

    big = SourceFile("2026-11-02/big.xml", MAX_FILE_BYTES + 1, None, never)
    parsed = parse_files(get_format("adi"), [big])
    assert [q.reason for q in parsed.quarantined] == [
        f"file too large: {MAX_FILE_BYTES + 1} bytes, more than {MAX_FILE_BYTES}"
    ]
