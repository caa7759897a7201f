"""ingest.contract: the one owner of the CLI's strings, light to import, and what the CLI itself accepts."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from ingest import contract
from ingest.__main__ import build_parser
from ingest.contract import Flag, PickBy, SourceKind, run_arguments
from ingest.models import UsageError
from ingest.run import RunRequest

START, END = "{{ data_interval_start.isoformat() }}", "{{ data_interval_end.isoformat() }}"


def test_the_contract_imports_without_heavy_dependencies() -> None:
    code = (
        "import sys, ingest.contract as c; c.format_names(); c.transports(); "
        "print([m for m in ('pyarrow', 'psycopg2', 'fsspec', 'paramiko', 'numpy', 'requests', 'airflow') "
        "if m in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_run_arguments_leave_defaults_out_and_end_with_the_interval() -> None:
    assert run_arguments("demo_adi", "adi", "demo_adi", START, END) == [
        "run", "--provider", "demo_adi", "--format", "adi", "--location", "demo_adi", "--file-glob", "*.xml",
        "--date-in-path", "%Y-%m-%d", "--start", START, "--end", END,
    ]  # fmt: skip


def test_run_arguments_of_an_api_source_with_options() -> None:
    args = run_arguments(
        "demo_api", "json", "https://api.example.org/titles", START, END, file_glob="*.json",
        format_options={"items_field": "items", "a": 1}, pick_by=PickBy.MODIFIED_TIME, source_kind=SourceKind.API,
        api_paging="page", api_options={"page_size": 50},
    )  # fmt: skip
    pairs = dict(zip(args[1::2], args[2::2], strict=True))
    assert args[0] == "run" and args[-4:] == ["--start", START, "--end", END]
    assert pairs["--format-options"] == json.dumps({"a": 1, "items_field": "items"})
    assert pairs["--pick-by"] == "modified_time"
    assert (pairs["--source-kind"], pairs["--api-paging"]) == ("api", "page")
    assert pairs["--api-options"] == '{"page_size": 50}'


@pytest.mark.parametrize(
    "bad", [{"pick_by": "modified-time"}, {"source_kind": "ftp"}, {"api_paging": "offset"}], ids=str
)
def test_run_arguments_refuse_values_the_cli_does_not_accept(bad: dict[str, str]) -> None:
    with pytest.raises(ValueError, match=next(iter(bad))):
        run_arguments("demo_adi", "adi", "demo_adi", START, END, **bad)


def test_the_cli_parses_what_run_arguments_build() -> None:
    start, end = "2026-11-02T00:00:00+00:00", "2026-11-03T00:00:00+00:00"
    args = run_arguments(
        "demo_api", "json", "https://api.example.org/titles", start, end, pick_by=PickBy.MODIFIED_TIME,
        source_kind=SourceKind.API, api_paging="page", api_options={"page_size": 50}, format_options={"x": 1},
    )  # fmt: skip
    parsed = build_parser().parse_args(args)
    assert (parsed.provider, parsed.format, parsed.source_kind, parsed.pick_by) == (
        "demo_api", "json", "api", "modified_time",
    )  # fmt: skip
    assert (parsed.api_paging, parsed.api_options, parsed.format_options) == ("page", {"page_size": 50}, {"x": 1})
    assert parsed.start == datetime(2026, 11, 2, tzinfo=UTC)


def test_every_flag_is_an_option_of_run() -> None:
    run_parser = build_parser()._subparsers._group_actions[0].choices[contract.RUN_COMMAND]  # type: ignore[union-attr]
    options = {option for action in run_parser._actions for option in action.option_strings}
    assert {str(flag) for flag in Flag} <= options


def test_the_cli_choices_come_from_the_registries() -> None:
    run_parser = build_parser()._subparsers._group_actions[0].choices["run"]  # type: ignore[union-attr]
    choices = {action.dest: tuple(action.choices or ()) for action in run_parser._actions}
    assert choices["format"] == contract.format_names()
    assert choices["pick_by"] == ("path_date", "modified_time")
    assert choices["source_kind"] == ("files", "api")
    assert choices["api_paging"] == contract.API_PAGING == ("cursor", "page")


def test_the_provider_id_pattern_is_the_one_the_run_checks() -> None:
    when = datetime(2026, 11, 2, tzinfo=UTC)
    for good in ("demo_adi", "ab"):
        assert contract.PROVIDER_ID.match(good)
        RunRequest(good, "adi", "x", "*.xml", "%Y-%m-%d", when, when.replace(day=3))
    for bad in ("Demo", "a", "1abc", "demo-adi"):
        assert not contract.PROVIDER_ID.match(bad)
        with pytest.raises(UsageError, match="provider id must match"):
            RunRequest(bad, "adi", "x", "*.xml", "%Y-%m-%d", when, when.replace(day=3))


def test_summary_fields_are_the_documented_keys() -> None:
    assert contract.SUMMARY_FIELDS == (
        "batch_id", "provider_id", "interval_start", "interval_end", "files_read", "files_skipped", "records_read",
        "records_loaded", "records_quarantined", "bytes_read", "duration_seconds",
    )  # fmt: skip


def test_transports_and_their_location_schemes() -> None:
    assert contract.transport_names() == ("local", "s3", "sftp", "http", "api")
    schemes = {spec.name: spec.schemes for spec in contract.transports()}
    assert schemes == {
        "local": ("", "file"), "s3": ("s3",), "sftp": ("sftp",), "http": ("http", "https"), "api": ("http", "https"),
    }  # fmt: skip
    assert {spec.name: spec.source_kind for spec in contract.transports()}["api"] == "api"


def test_connection_env_maps_a_connection_to_each_transports_variables() -> None:
    extra = {"endpoint_url": "http://127.0.0.1:18900", "region_name": "eu-west-1", "known_hosts": "/k", "key_file": ""}
    assert contract.connection_env("s3", "key", "secret", extra) == {
        "AWS_ACCESS_KEY_ID": "key", "AWS_SECRET_ACCESS_KEY": "secret",
        "MEDIA_S3_ENDPOINT_URL": "http://127.0.0.1:18900", "AWS_DEFAULT_REGION": "eu-west-1",
    }  # fmt: skip
    assert contract.connection_env("sftp", "user", "pw", extra) == {
        "MEDIA_SFTP_USERNAME": "user", "MEDIA_SFTP_PASSWORD": "pw", "MEDIA_SFTP_KNOWN_HOSTS": "/k",
    }  # fmt: skip
    assert contract.connection_env("http", None, "t", {}) == {"MEDIA_HTTP_TOKEN": "t"}
    assert contract.connection_env("api", None, "t", {}) == {"MEDIA_API_TOKEN": "t"}
    assert contract.connection_env("local", "u", "p", {}) == {}
    secret = {c.env for spec in contract.transports() for c in spec.credentials if c.secret}
    assert {"AWS_SECRET_ACCESS_KEY", "MEDIA_SFTP_PASSWORD", "MEDIA_HTTP_TOKEN", "MEDIA_API_TOKEN"} <= secret


def test_environment_variable_names() -> None:
    assert (contract.WAREHOUSE_DSN_ENV, contract.DROP_ROOT_ENV, contract.PARSE_WORKERS_ENV) == (
        "WAREHOUSE_DSN", "MEDIA_DROP_ROOT", "INGEST_PARSE_WORKERS",
    )  # fmt: skip
