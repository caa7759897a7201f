"""S3 transport against moto in server mode on 127.0.0.1: listing, picking, escaping keys, and a CLI run."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ingest.discover.files import files_for_interval
from ingest.discover.transports import open_location
from ingest.models import UsageError

moto_server = pytest.importorskip("moto.server")
boto3 = pytest.importorskip("boto3")

NOV_2 = datetime(2026, 11, 2, tzinfo=UTC)
DAY = timedelta(days=1)
BUCKET = "media-drops"


@pytest.fixture(scope="module")
def s3_env() -> Iterator[dict[str, str]]:
    """A moto S3 server on a free 127.0.0.1 port and the env a pod would get (dummy keys, endpoint URL)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "MEDIA_S3_ENDPOINT_URL": f"http://127.0.0.1:{port}",
    }
    try:
        yield env
    finally:
        server.stop()


@pytest.fixture(scope="module")
def bucket(s3_env: dict[str, str], public_adi: Path) -> Any:
    """The bucket with one provider's deliveries under acme/: two days, a stray key, and a key with '..' in it."""
    client = boto3.client(
        "s3",
        endpoint_url=s3_env["MEDIA_S3_ENDPOINT_URL"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=BUCKET)
    adi = (public_adi / "HBO_ADI_OK.XML").read_bytes()
    for key, body in {
        "acme/2026-11-01/one.xml": adi,
        "acme/2026-11-02/two.xml": adi,
        "acme/2026-11-02/THREE.XML": adi + b"<!-- 3 -->",
        "acme/2026-11-02/readme.txt": b"not a delivery",
        "acme/2026-11-02/../../escape.xml": b"<x/>",
        "other/2026-11-02/not-ours.xml": adi,
    }.items():
        client.put_object(Bucket=BUCKET, Key=key, Body=body)
    return client


def test_path_date_lists_the_interval_folder_with_sizes_and_etags(s3_env: dict[str, str], bucket: Any) -> None:
    location = open_location(f"s3://{BUCKET}/acme", s3_env)
    files = files_for_interval(location, "*.xml", "%Y-%m-%d", NOV_2, NOV_2 + DAY)
    assert [(f.relative, f.rejected) for f in files] == [("2026-11-02/THREE.XML", None), ("2026-11-02/two.xml", None)]
    three = files[0]
    head = bucket.head_object(Bucket=BUCKET, Key="acme/2026-11-02/THREE.XML")
    assert (three.size, three.etag) == (head["ContentLength"], head["ETag"].strip('"'))
    assert three.modified_at is not None and three.modified_at.tzinfo is not None
    with three.opener() as handle:
        assert handle.read().endswith(b"<!-- 3 -->")


def test_modified_time_uses_the_object_last_modified(s3_env: dict[str, str], bucket: Any) -> None:
    location = open_location(f"s3://{BUCKET}/acme/", s3_env)
    now = datetime.now(UTC)
    recent = files_for_interval(
        location, "*.xml", "", now - timedelta(hours=1), now + timedelta(hours=1), "modified_time"
    )
    assert [(f.relative, f.rejected) for f in recent] == [
        ("2026-11-01/one.xml", None),
        ("2026-11-02/../../escape.xml", "path escapes the drop location"),
        ("2026-11-02/THREE.XML", None),
        ("2026-11-02/two.xml", None),
    ]
    assert files_for_interval(location, "*.xml", "", NOV_2, NOV_2 + DAY, "modified_time") == []


def test_an_empty_prefix_is_empty_and_a_missing_bucket_an_error(s3_env: dict[str, str], bucket: Any) -> None:
    empty = open_location(f"s3://{BUCKET}/nobody-yet", s3_env)
    assert files_for_interval(empty, "*.xml", "%Y-%m-%d", NOV_2, NOV_2 + DAY) == []
    missing = open_location("s3://no-such-bucket/acme", s3_env)
    with pytest.raises(UsageError, match="drop location not found: s3://no-such-bucket/acme"):
        files_for_interval(missing, "*.xml", "%Y-%m-%d", NOV_2, NOV_2 + DAY)


def test_the_cli_loads_from_s3_and_skips_what_another_interval_loaded(
    s3_env: dict[str, str], bucket: Any, warehouse_dsn: str, cli: Any, warehouse: Any
) -> None:
    args = ["run", "--provider", "s3_acme", "--format", "adi", "--location", f"s3://{BUCKET}/acme"]
    env = {**s3_env, "WAREHOUSE_DSN": warehouse_dsn}
    day = cli([*args, "--start", "2026-11-02T00:00:00+00:00", "--end", "2026-11-03T00:00:00+00:00"], env)
    assert day.returncode == 0, day.stderr
    # two.xml and THREE.XML hold the same package (asset and version): one is loaded, the other noted as a duplicate
    summary = day.summary
    assert (summary["files_read"], summary["files_skipped"], summary["records_loaded"]) == (2, 0, 1)
    assert summary["records_quarantined"] == 1
    assert "testing" not in day.stderr
    week = cli([*args, "--start", "2026-11-01T00:00:00+00:00", "--end", "2026-11-08T00:00:00+00:00"], env)
    assert week.returncode == 0, week.stderr
    assert (week.summary["files_read"], week.summary["files_skipped"], week.summary["records_loaded"]) == (1, 2, 1)
    assert "skipped 2026-11-02/two.xml: already loaded by batch " + day.summary["batch_id"] in week.stderr
    with warehouse.cursor() as cur:
        cur.execute(
            "select file_path, etag is not null, location from raw.ingest_ledger where provider_id = 's3_acme'"
            " order by file_path"
        )
        assert cur.fetchall() == [
            ("2026-11-01/one.xml", True, f"s3://{BUCKET}/acme"),
            ("2026-11-02/THREE.XML", True, f"s3://{BUCKET}/acme"),
            ("2026-11-02/two.xml", True, f"s3://{BUCKET}/acme"),
        ]

    now = datetime.now(UTC)
    window = ["--start", (now - timedelta(hours=1)).isoformat(), "--end", (now + timedelta(hours=1)).isoformat()]
    recent = cli(["run", "--provider", "s3_recent", "--format", "adi", "--location", f"s3://{BUCKET}/acme",
                  "--pick-by", "modified_time", *window], env)  # fmt: skip
    assert recent.returncode == 0, recent.stderr
    assert (recent.summary["records_loaded"], recent.summary["records_quarantined"]) == (1, 3)  # 2 duplicates
    with warehouse.cursor() as cur:
        cur.execute(
            "select source_file, reason, raw_record from raw.quarantine where provider_id = 's3_recent'"
            " and reason not like 'duplicate in the batch:%'"
        )
        assert cur.fetchall() == [("2026-11-02/../../escape.xml", "rejected: path escapes the drop location", "")]
