"""Provider configuration: one YAML file per provider, validated into a typed, frozen model."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ingest import contract
from media_platform.config.constants import CRON_PRESETS, PickBy, SourceFormat, Transport
from media_platform.config.url_credentials import mask_url_credentials, url_credentials

_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?$")
WATCHED_TRANSPORTS = ("local",)  # transports with a delivery watcher (media_platform.triggers)


class ProviderConfigError(ValueError):
    """A provider YAML is invalid: names the file, the field and what was expected."""

    def __init__(self, path: Path, problems: list[tuple[str, str]]):
        self.path = path
        self.problems = problems
        lines = [f"{path}: invalid provider config"]
        lines += [f"  - {field}: {message}" for field, message in problems]
        super().__init__("\n".join(lines))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ApiConfig(_Model):
    """A provider REST API: paging style and the ingest CLI's --api-options (field and parameter names, limits)."""

    paging: str = Field(default=contract.DEFAULT_API_PAGING, description=f"one of {', '.join(contract.API_PAGING)}")
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("paging")
    @classmethod
    def _known_paging(cls, value: str) -> str:
        if value not in contract.API_PAGING:
            raise ValueError(f"expected one of {', '.join(contract.API_PAGING)}, got {value!r}")
        return value


class SourceConfig(_Model):
    """Where and how the provider delivers: the ingest CLI gets these as arguments."""

    transport: Transport = Transport("local")
    location: str = Field(
        description="local path (relative ones are under MEDIA_DROP_ROOT), s3://bucket/prefix, sftp://host/path, "
        "https://host/path or the API endpoint URL"
    )
    file_glob: str = contract.DEFAULT_FILE_GLOB
    date_in_path: str = Field(
        default=contract.DEFAULT_DATE_IN_PATH,
        description="strftime pattern of the delivery-date folder; files are picked by the data interval",
    )
    pick_by: PickBy = PickBy.PATH_DATE
    credentials_conn_id: str | None = Field(
        default=None, description="Airflow connection holding the transport's credentials (local execution)"
    )
    api: ApiConfig | None = None
    watch: bool = Field(
        default=False,
        description="start a run within seconds of a delivery (an asset watcher in the triggerer); the schedule "
        f"still sweeps every interval. Transports: {', '.join(WATCHED_TRANSPORTS)}",
    )
    watch_poll_seconds: float = Field(default=5.0, ge=1, le=300, description="how often the watcher lists the location")

    @field_validator("location")
    @classmethod
    def _no_credentials(cls, value: str) -> str:
        found = url_credentials(value)
        if found:
            raise ValueError(
                f"a credential was found in the location ({', '.join(found)}): {mask_url_credentials(value)}; "
                "credentials belong in credentials_conn_id or secrets, never in the YAML"
            )
        return value

    @model_validator(mode="after")
    def _watch_supported(self) -> SourceConfig:
        if self.watch and self.transport.value not in WATCHED_TRANSPORTS:
            raise ValueError(
                f"watch: transport {self.transport.value} has no delivery watcher (only "
                f"{', '.join(WATCHED_TRANSPORTS)}); its deliveries are picked up by the schedule"
            )
        return self

    @model_validator(mode="after")
    def _location_fits_transport(self) -> SourceConfig:
        scheme = self.location.split("://", 1)[0].lower() if "://" in self.location else ""
        spec = contract.transport(self.transport)
        allowed = spec.schemes
        if scheme not in allowed:
            shown = " or ".join(f"{s}://..." if s else "a path" for s in allowed)
            shown_location = mask_url_credentials(self.location)
            raise ValueError(f"location: transport {self.transport.value} expects {shown}, got {shown_location!r}")
        if (spec.source_kind == contract.SourceKind.API) != (self.api is not None):
            raise ValueError("api: required exactly when transport is api")
        return self


class PodConfig(_Model):
    """Per-provider overrides of the shared pod defaults."""

    cpu: str = "500m"
    memory: str = "512Mi"
    image: str | None = None


class ProviderConfig(_Model):
    """One content provider: what it delivers, when, who owns it and who is alerted."""

    provider_id: Annotated[str, Field(pattern=contract.PROVIDER_ID_PATTERN)]
    display_name: str
    format: SourceFormat
    source: SourceConfig
    schedule: str = Field(description="cron expression or preset such as @daily, @hourly")
    start_date: date
    owner: str
    alert_channel: str = Field(description="slack:#channel, email:address or none (ops.alerts and the log only)")
    deadline: str = Field(default="2h", description="how long after being queued a run must be done: 45m, 2h")
    retries: int = Field(default=2, ge=0, le=10)
    retry_delay_minutes: int = Field(default=5, ge=1, le=240)
    catchup: bool = False
    tags: tuple[str, ...] = ()
    secrets: tuple[str, ...] = Field(default=(), description="Kubernetes secret names mounted as env into the pod")
    pod: PodConfig = PodConfig()
    format_options: dict[str, Any] = Field(
        default_factory=dict, description="the format's own settings, e.g. a CSV column mapping; passed as JSON"
    )
    description: str = ""

    @field_validator("schedule")
    @classmethod
    def _valid_schedule(cls, value: str) -> str:
        from croniter import croniter

        if value not in CRON_PRESETS and not croniter.is_valid(value):
            raise ValueError(f"expected a cron expression or one of {sorted(CRON_PRESETS)}, got {value!r}")
        return value

    @field_validator("deadline")
    @classmethod
    def _valid_deadline(cls, value: str) -> str:
        match = _DURATION.match(value)
        if not value or not match or not any(match.groups()):
            raise ValueError(f"expected a duration like 45m, 2h or 1h30m, got {value!r}")
        return value

    @field_validator("alert_channel")
    @classmethod
    def _valid_channel(cls, value: str) -> str:
        if not re.match(r"^(slack:#[\w-]+|email:[^@\s]+@[^@\s]+|none)$", value):
            raise ValueError(f"expected slack:#channel or email:name@domain (or none), got {value!r}")
        return value

    @property
    def dag_id(self) -> str:
        return f"ingest_{self.provider_id}"

    @property
    def start_datetime(self) -> datetime:
        return datetime(self.start_date.year, self.start_date.month, self.start_date.day, tzinfo=UTC)

    @property
    def deadline_minutes(self) -> int:
        match = _DURATION.match(self.deadline)
        assert match
        hours, minutes = (int(g) if g else 0 for g in match.groups())
        return hours * 60 + minutes

    @property
    def dbt_staging_selector(self) -> str:
        """The dbt staging models and raw sources of the provider's format (tagged `format_<format>` in their YAML);
        with the dbt var `provider_id` their tests check only this provider's rows."""
        return f"tag:format_{self.format.value}"


def _field_path(location: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in location) or "(file)"


def load_provider_config(path: Path) -> ProviderConfig:
    """Read and validate one provider YAML; raise ProviderConfigError naming file, field and expectation.

    A valid file is validated once per process for the same content: both files in dags/ load the whole folder.
    """
    return _validated_config(path, path.read_text(encoding="utf-8"))


@lru_cache(maxsize=4096)
def _validated_config(path: Path, text: str) -> ProviderConfig:
    try:
        data = _safe_load(text)
    except yaml.YAMLError as err:
        raise ProviderConfigError(path, [("(yaml)", f"not valid YAML: {_yaml_problem(err)}")]) from None
    if not isinstance(data, dict):
        raise ProviderConfigError(path, [("(file)", f"expected a mapping of fields, got {type(data).__name__}")])
    try:
        config = ProviderConfig.model_validate(data)
    except ValidationError as err:
        problems = [(_field_path(e["loc"]), _describe(e)) for e in err.errors()]
        raise ProviderConfigError(path, problems) from None
    if config.provider_id != path.stem:
        raise ProviderConfigError(
            path, [("provider_id", f"expected the file name {path.stem!r}, got {config.provider_id!r}")]
        )
    return config


def _safe_load(text: str) -> Any:
    """yaml.safe_load, by libyaml when PyYAML was built with it (about ten times faster; every DAG parse reads every
    provider's file). A document libyaml rejects is parsed again by the Python loader, for the same error message."""
    loader = getattr(yaml, "CSafeLoader", None)
    if loader is not None:
        try:
            return yaml.load(text, Loader=loader)  # noqa: S506 - CSafeLoader is the safe loader
        except yaml.YAMLError:
            pass
    return yaml.safe_load(text)


def _yaml_problem(err: yaml.YAMLError) -> str:
    """What is wrong and where, without PyYAML's snippet of the line: that line may hold a credential."""
    problem = getattr(err, "problem", None)
    if problem is None:
        return type(err).__name__
    mark = getattr(err, "problem_mark", None)
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
    context = getattr(err, "context", None)
    return f"{context + ': ' if context else ''}{problem}{where}"


def _describe(error: Any) -> str:
    message = str(error["msg"])
    if error["type"] == "extra_forbidden":
        return "unknown field (check the spelling; see the README for the fields)"
    if error["type"] == "missing":
        return "required field is missing"
    if error["type"] == "value_error":
        return message.removeprefix("Value error, ")  # ours say what they got, masked where it may hold a credential
    if "input" in error and not isinstance(error["input"], dict | list):
        given = error["input"]
        return f"{message} (got {mask_url_credentials(given) if isinstance(given, str) else given!r})"
    return message  # a whole section is never echoed: it may hold a location with credentials


@dataclass(frozen=True)
class ProviderConfigs:
    """All provider configs of a folder, and the files that failed, so one bad file never hides the others."""

    configs: tuple[ProviderConfig, ...]
    errors: tuple[ProviderConfigError, ...]


def load_provider_configs(folder: Path) -> ProviderConfigs:
    """Load every `*.yaml` in folder; collect errors instead of stopping at the first."""
    configs: list[ProviderConfig] = []
    errors: list[ProviderConfigError] = []
    for path in sorted(folder.glob("*.yaml")):
        try:
            configs.append(load_provider_config(path))
        except ProviderConfigError as err:
            errors.append(err)
    return ProviderConfigs(tuple(configs), tuple(errors))
