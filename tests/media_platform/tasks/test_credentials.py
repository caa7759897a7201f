"""Transport credentials reach the local ingest run as the env vars the CLI reads, from an Airflow connection."""

from __future__ import annotations

import json

from airflow.sdk import Connection

from media_platform.config.constants import Transport
from media_platform.tasks.credentials import connection_env, transport_env


def test_s3_connection_maps_to_aws_variables() -> None:
    conn = Connection(
        conn_id="drop_s3", conn_type="aws", login="AKIA", password="secret",
        extra=json.dumps({"endpoint_url": "http://127.0.0.1:9000", "region_name": "eu-west-1"}),
    )  # fmt: skip
    assert connection_env(Transport("s3"), conn) == {
        "AWS_ACCESS_KEY_ID": "AKIA",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "MEDIA_S3_ENDPOINT_URL": "http://127.0.0.1:9000",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }


def test_sftp_and_api_connections() -> None:
    sftp = Connection(conn_id="s", conn_type="sftp", login="feed", password="pw")
    assert connection_env(Transport("sftp"), sftp) == {"MEDIA_SFTP_USERNAME": "feed", "MEDIA_SFTP_PASSWORD": "pw"}
    api = Connection(conn_id="a", conn_type="http", password="tok")
    assert connection_env(Transport("api"), api) == {"MEDIA_API_TOKEN": "tok"}
    assert connection_env(Transport("local"), api) == {}


def test_connection_is_resolved_at_run_time(monkeypatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_FEED_API", json.dumps({"conn_type": "http", "password": "t0ken"}))
    assert transport_env(Transport("api"), "feed_api") == {"MEDIA_API_TOKEN": "t0ken"}
    assert transport_env(Transport("api"), None) == {}
