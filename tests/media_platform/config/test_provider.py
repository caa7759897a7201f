"""Provider YAML validation: good files load, bad files name the file, the field and what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from media_platform.config.constants import SourceFormat
from media_platform.config.provider import ProviderConfigError, load_provider_config, load_provider_configs

PROVIDERS_DIR = Path(__file__).resolve().parents[3] / "include" / "providers"


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(text)
    return path


def _valid_yaml(provider_id: str = "acme") -> str:
    """demo_adi's YAML under another id, unwatched (its `watch` line dropped), for tests that vary its source."""
    text = (PROVIDERS_DIR / "demo_adi.yaml").read_text().replace("provider_id: demo_adi", f"provider_id: {provider_id}")
    return "".join(line for line in text.splitlines(keepends=True) if not line.startswith("  watch"))


def test_every_shipped_provider_config_is_valid() -> None:
    loaded = load_provider_configs(PROVIDERS_DIR)
    assert loaded.errors == ()
    assert "demo_adi" in {config.provider_id for config in loaded.configs}


def test_demo_config_fields() -> None:
    config = load_provider_config(PROVIDERS_DIR / "demo_adi.yaml")
    assert config.format is SourceFormat("adi")
    assert config.dag_id == "ingest_demo_adi"
    assert config.deadline_minutes == 120
    assert config.dbt_staging_selector == "tag:format_adi"


@pytest.mark.parametrize(
    ("replace", "field", "expected"),
    [
        ("format: adi", "format", "'adi'"),
        ('schedule: "@daily"', "schedule", "cron expression"),
        ("deadline: 2h", "deadline", "duration like 45m"),
        ('alert_channel: "slack:#media-data-alerts"', "alert_channel", "slack:#channel or email"),
        ("retries: 2", "retries", "less than or equal to 10"),
    ],
)
def test_bad_field_names_file_field_and_expectation(tmp_path: Path, replace: str, field: str, expected: str) -> None:
    bad_value = {
        "format": "format: mp4",
        "schedule": "schedule: every day",
        "deadline": "deadline: soon",
        "alert_channel": "alert_channel: pager",
        "retries": "retries: 99",
    }[field]
    path = _write(tmp_path, "acme", _valid_yaml().replace(replace, bad_value))
    with pytest.raises(ProviderConfigError) as caught:
        load_provider_config(path)
    message = str(caught.value)
    assert str(path) in message
    assert f"- {field}:" in message
    assert expected in message


def test_missing_and_unknown_fields(tmp_path: Path) -> None:
    text = _valid_yaml().replace("owner: content-ops\n", "").replace("retries: 2", "retrys: 2")
    path = _write(tmp_path, "acme", text)
    with pytest.raises(ProviderConfigError) as caught:
        load_provider_config(path)
    problems = dict(caught.value.problems)
    assert problems["owner"] == "required field is missing"
    assert "unknown field" in problems["retrys"]


def test_nested_field_path(tmp_path: Path) -> None:
    path = _write(tmp_path, "acme", _valid_yaml().replace("transport: local", "transport: carrier-pigeon"))
    with pytest.raises(ProviderConfigError) as caught:
        load_provider_config(path)
    assert "source.transport" in dict(caught.value.problems)


def test_file_name_must_match_provider_id(tmp_path: Path) -> None:
    path = _write(tmp_path, "other_name", _valid_yaml("acme"))
    with pytest.raises(ProviderConfigError, match="provider_id: expected the file name 'other_name'"):
        load_provider_config(path)


def test_not_yaml_and_not_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(ProviderConfigError, match=r"\(yaml\): not valid YAML"):
        load_provider_config(_write(tmp_path, "broken", "provider_id: [unclosed"))
    with pytest.raises(ProviderConfigError, match="expected a mapping of fields, got list"):
        load_provider_config(_write(tmp_path, "alist", "- a\n- b\n"))


def test_one_bad_file_does_not_hide_the_others(tmp_path: Path) -> None:
    _write(tmp_path, "acme", _valid_yaml("acme"))
    _write(tmp_path, "broken", _valid_yaml("broken").replace("format: adi", "format: mp4"))
    loaded = load_provider_configs(tmp_path)
    assert [config.provider_id for config in loaded.configs] == ["acme"]
    assert [error.path.name for error in loaded.errors] == ["broken.yaml"]


def test_config_formats_are_the_ingest_package_formats() -> None:
    from ingest.parse.formats import format_names

    assert {member.value for member in SourceFormat} == set(format_names())


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("  transport: s3\n  location: /data/drop", "transport s3 expects s3://"),
        ("  transport: sftp\n  location: sftp://user:pw@host/in", "a credential was found in the location"),
        ("  transport: api\n  location: https://api.example/v1/titles", "api: required exactly when transport is api"),
    ],
)
def test_source_location_must_fit_the_transport(tmp_path: Path, source: str, message: str) -> None:
    text = _valid_yaml().replace("  transport: local\n  location: demo_adi", source)
    with pytest.raises(ProviderConfigError, match=message):
        load_provider_config(_write(tmp_path, "acme", text))


def test_an_error_about_a_whole_section_does_not_echo_it(tmp_path: Path) -> None:
    # the watch check fails on the source section as a whole (a section is never echoed: it may hold a credential)
    source = "  transport: sftp\n  location: sftp://host/in?user_hint=hunter2\n  watch: true"
    text = _valid_yaml().replace("  transport: local\n  location: demo_adi", source)
    with pytest.raises(ProviderConfigError, match="has no delivery watcher") as raised:
        load_provider_config(_write(tmp_path, "acme", text))
    assert "hunter2" not in str(raised.value)


SECRET = "hunter2-Secret"


@pytest.mark.parametrize(
    ("source", "what"),
    [
        (f"  transport: sftp\n  location: sftp://feed:{SECRET}@host/in", "password in user:password@"),
        (f"  transport: s3\n  location: s3://AKIAEXAMPLE:{SECRET}@bucket/in", "password in user:password@"),
        (f"  transport: s3\n  location: s3://bucket/in?X-Amz-Signature={SECRET}", "query parameter 'X-Amz-Signature'"),
        (f"  transport: http\n  location: https://cdn.example/drop/?token={SECRET}", "query parameter 'token'"),
        (f"  transport: http\n  location: https://cdn.example/drop/?a=1&sig={SECRET}", "query parameter 'sig'"),
        (f"  transport: http\n  location: https://cdn.example/?access_key={SECRET}", "query parameter 'access_key'"),
        (f"  transport: sftp\n  location: https://u:{SECRET}@host/in?password={SECRET}", "query parameter 'password'"),
    ],
)
def test_a_credential_in_the_location_is_named_and_masked(tmp_path: Path, source: str, what: str) -> None:
    text = _valid_yaml().replace("  transport: local\n  location: demo_adi", source)
    with pytest.raises(ProviderConfigError) as raised:
        load_provider_config(_write(tmp_path, "acme", text))
    problems = dict(raised.value.problems)
    assert "a credential was found in the location" in problems["source.location"]
    assert what in problems["source.location"] and "***" in problems["source.location"]
    assert SECRET not in str(raised.value)


def test_a_yaml_syntax_error_does_not_echo_its_line(tmp_path: Path) -> None:
    text = _valid_yaml().replace("  location: demo_adi", f"  location: sftp://feed:{SECRET}@host/in: [")
    with pytest.raises(ProviderConfigError, match=r"\(yaml\): not valid YAML: .*line \d+, column \d+") as raised:
        load_provider_config(_write(tmp_path, "acme", text))
    assert SECRET not in str(raised.value)
