"""S3 and S3-compatible object stores (MinIO, Ceph, R2...): s3://bucket/prefix, keys and endpoint from env only."""

from __future__ import annotations

import builtins
import logging
from collections.abc import Mapping
from urllib.parse import SplitResult

from ingest.discover.transports.base import Credential, Entry, Location, TransportSpec
from ingest.models import UsageError

log = logging.getLogger("ingest")
ENDPOINT_ENVS = ("MEDIA_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")


def open_s3(parts: SplitResult, env: Mapping[str, str]) -> S3Location:
    """s3://bucket/prefix. Without AWS_ACCESS_KEY_ID the default AWS chain applies (pod role, instance profile)."""
    import s3fs

    bucket = parts.netloc
    if not bucket:
        raise UsageError("an s3:// location needs a bucket: s3://bucket/prefix")
    endpoint = next((env[name] for name in ENDPOINT_ENVS if env.get(name)), None)
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    fs = s3fs.S3FileSystem(
        key=env.get("AWS_ACCESS_KEY_ID") or None,
        secret=env.get("AWS_SECRET_ACCESS_KEY") or None,
        token=env.get("AWS_SESSION_TOKEN") or None,
        endpoint_url=endpoint,
        client_kwargs={"region_name": region} if region else {},
        config_kwargs={"connect_timeout": 30, "read_timeout": 60, "retries": {"max_attempts": 5, "mode": "standard"}},
        use_listings_cache=False,
        skip_instance_cache=True,
    )
    prefix = parts.path.strip("/")
    url = f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}"
    return S3Location(fs, f"{bucket}/{prefix}" if prefix else bucket, url, url)


class S3Location(Location):
    """A bucket prefix; an empty prefix of an existing bucket is an empty drop, a missing bucket an error."""

    def list(self, path: str) -> list[Entry]:
        try:
            return super().list(path)
        except FileNotFoundError:
            if path != self.root:
                raise
            self._check_bucket()
            return []

    def walk_files(self, max_depth: int) -> builtins.list[Entry]:
        """One flat listing of every key under the prefix: names are literal, so a key with '..' shows up as a
        file (and is rejected) instead of hiding in a folder named '..'. Keys in hidden folders are left out."""
        try:
            found = self.fs.find(self.root, detail=True)
        except FileNotFoundError:
            found = {}
        if not found:
            self._check_bucket()
        entries = [self._entry(info) for info in found.values() if info.get("type") != "directory"]
        return [e for e in entries if not _in_hidden_folder(self.relative(e.name))]

    def _check_bucket(self) -> None:
        bucket = self.root.split("/", 1)[0]
        if not self.fs.exists(bucket):
            raise UsageError(f"drop location not found: {self.url} (no such bucket, or no access)") from None
        log.warning("no objects under %s yet", self.url)


def _in_hidden_folder(relative: str | None) -> bool:
    return relative is not None and any(part.startswith(".") for part in relative.split("/")[:-1])


TRANSPORT = TransportSpec(
    "s3",
    ("s3",),
    (
        Credential("AWS_ACCESS_KEY_ID", "login"),
        Credential("AWS_SECRET_ACCESS_KEY", "password", secret=True),
        Credential("AWS_SESSION_TOKEN", secret=True),
        Credential("MEDIA_S3_ENDPOINT_URL", "extra.endpoint_url"),
        Credential("AWS_ENDPOINT_URL_S3"),
        Credential("AWS_ENDPOINT_URL"),
        Credential("AWS_DEFAULT_REGION", "extra.region_name"),
        Credential("AWS_REGION"),
    ),
    open_s3,
)
