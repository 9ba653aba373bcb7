"""One typed Settings object, read from contractsync.yaml and CONTRACTSYNC_* variables.

Precedence, highest first: environment variables (``CONTRACTSYNC_<SECTION>__<KEY>``), then
the YAML file (``contractsync.yaml`` in the working directory, or the path given), then the
defaults below. Settings are validated once at start-up; a bad value raises ConfigError that
names the key and says how to fix it. Secrets are only ever read from the environment or a
file reference and are held as SecretStr.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from contractsync.domain.ownership import DEFAULT_OWNERSHIP, OwnershipMap
from contractsync.errors import ConfigError

DEFAULT_CONFIG_FILE = Path("contractsync.yaml")


class DatabaseSettings(BaseModel):
    """Where the hub keeps its own state."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        default="sqlite:///var/contractsync.sqlite",
        title="Database URL",
        description="SQLAlchemy URL: a SQLite file (embedded) or postgresql://... (scale-out).",
    )


class PolicySettings(BaseModel):
    """Which declarative policies decide amendment plans."""

    model_config = ConfigDict(extra="forbid")

    amendments: Path | None = Field(
        default=None,
        title="Amendment policy file",
        description="YAML policy deciding auto-apply or routing; the shipped default when unset.",
    )


class FlowSettings(BaseModel):
    """How the contract flows run: what contracts are checked against, and how long they wait."""

    model_config = ConfigDict(extra="forbid")

    reference: Path | None = Field(
        default=None,
        title="Reference data file",
        description="YAML of our legal entities and service catalogue (the format of "
        "examples/reference.yaml); the shipped examples' file when unset.",
    )
    decision_poll_seconds: float = Field(
        default=300.0,
        gt=0,
        title="Decision poll interval",
        description="Longest a waiting flow sleeps before it looks at its exception items again "
        "(a decision sent to it wakes it at once).",
    )
    ordering_wait_seconds: float = Field(
        default=86_400.0,
        gt=0,
        title="Ordering wait",
        description="How long an amendment waits for its predecessor version before an "
        "exception item asks whether to go on without it.",
    )


class ReconciliationSettings(BaseModel):
    """Reconciliation the hub runs on a cron schedule (``contractsync reconcile`` runs it by hand)."""

    model_config = ConfigDict(extra="forbid")

    schedule: str | None = Field(
        default=None,
        title="Reconciliation schedule",
        description="Cron expression of the scheduled runs: five fields (minute hour day month "
        'weekday, e.g. "0 2 * * *" for 02:00 every day), or six with seconds first; '
        "unset: no scheduled runs. Every serve and worker process fires it, each tick runs once.",
    )
    timezone: str = Field(
        default="UTC",
        title="Schedule time zone",
        description='IANA time zone the schedule is read in (e.g. "Europe/Berlin").',
    )
    heal: bool = Field(
        default=True,
        title="Heal on schedule",
        description="Re-push drift the policy allows, as `contractsync reconcile` does; false: "
        "report only, as `--no-heal`.",
    )
    policy: Path | None = Field(
        default=None,
        title="Reconciliation policy file",
        description="YAML policy deciding which drift is healed and who owns the rest; the "
        "shipped default when unset.",
    )

    @field_validator("schedule")
    @classmethod
    def _schedule_fires(cls, schedule: str | None) -> str | None:
        if schedule is not None:
            _check_cron(schedule)
        return schedule

    @field_validator("timezone")
    @classmethod
    def _known_time_zone(cls, name: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"{name!r} is not an IANA time zone (e.g. UTC, Europe/Berlin)"
            ) from None
        return name


def _check_cron(expression: str) -> None:
    """Refuse what the engine's scheduler would refuse, and what never fires (30 February)."""
    from datetime import UTC, datetime

    # The engine (DBOS) reads schedules with croniter, seconds first in six fields; so do we.
    from croniter import CroniterError, croniter

    fields = expression.split()
    if len(fields) not in (5, 6) or not croniter.is_valid(expression, second_at_beginning=True):
        raise ValueError(
            f"{expression!r} is not a cron expression: give five fields (minute hour day month "
            'weekday, e.g. "0 2 * * *") or six with seconds first ("*/30 * * * * *")'
        )
    try:
        croniter(expression, datetime.now(UTC), second_at_beginning=True).get_next(datetime)
    except CroniterError:
        raise ValueError(f"the cron expression {expression!r} never fires") from None


class MessagingSettings(BaseModel):
    """Where business events go after the outbox."""

    model_config = ConfigDict(extra="forbid")

    bus: Literal["inprocess", "nats"] = Field(
        default="inprocess",
        title="Event bus",
        description="inprocess (embedded, one process) or nats (NATS JetStream, scale-out).",
    )
    nats_url: str = Field(default="nats://127.0.0.1:4222", title="NATS server URL")
    stream: str = Field(default="CONTRACTSYNC", title="JetStream stream holding contractsync.>")
    relay_batch: int = Field(default=100, ge=1, le=10_000, title="Outbox rows relayed per batch")


class QueueLimits(BaseModel):
    """How hard the hub may push one external system (all workers together)."""

    model_config = ConfigDict(extra="forbid")

    concurrency: int = Field(default=5, ge=1, le=1000, title="Calls in flight, across workers")
    rate_limit: int | None = Field(default=None, ge=1, title="Calls allowed per rate_period")
    rate_period_seconds: float = Field(default=1.0, gt=0, title="Window of the rate limit")


def _default_queues() -> dict[str, QueueLimits]:
    # NetSuite's shared tier allows 5 concurrent requests per account; the others are
    # conservative starting points an operator tunes per contract with the vendor.
    return {
        "tryton": QueueLimits(concurrency=5),
        "netsuite": QueueLimits(concurrency=5),
        "salesforce": QueueLimits(concurrency=10, rate_limit=25, rate_period_seconds=1.0),
        "kantata": QueueLimits(concurrency=5, rate_limit=10, rate_period_seconds=1.0),
        "ironclad": QueueLimits(concurrency=5, rate_limit=10, rate_period_seconds=1.0),
        "docusign": QueueLimits(concurrency=5),
    }


class EngineSettings(BaseModel):
    """The durable workflow engine (DBOS Transact) and its workers."""

    model_config = ConfigDict(extra="forbid")

    system_database_url: str | None = Field(
        default=None,
        title="Workflow engine database URL",
        description="Where DBOS keeps workflow state; defaults to a file beside the hub database "
        "(SQLite) or the same PostgreSQL server.",
    )
    executor_id: str | None = Field(
        default=None,
        title="Executor id",
        description="Stable id of this worker slot; defaults to host name and process id.",
    )
    heartbeat_seconds: float = Field(default=5.0, gt=0, title="Worker heartbeat interval")
    stale_after_seconds: float = Field(
        default=30.0, gt=0, title="A worker silent this long is presumed dead and recovered"
    )
    queues: dict[str, QueueLimits] = Field(
        default_factory=_default_queues, title="Per external system limits"
    )


class SecretRef(BaseModel):
    """Where a secret lives: an environment variable or a file, never the secret itself.

    Written ``{env: NAME}`` or ``{file: /path}`` in contractsync.yaml; exactly one of the two.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    env: str | None = Field(default=None, title="Environment variable holding the secret")
    file: Path | None = Field(default=None, title="File holding the secret (e.g. a mounted one)")

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            raise ValueError("give exactly one of 'env' or 'file'")
        return self

    def reveal(self) -> SecretStr:
        """Read the secret now (at start-up); surrounding whitespace and newlines are dropped.

        Returns:
            The secret, wrapped so that it never shows in a repr, a log or an error.

        Raises:
            ConfigError: The variable is unset or empty, or the file is missing, unreadable or
                empty; the message names the variable or file, never the value.
        """
        if self.env is not None:
            value = os.environ.get(self.env, "").strip()
            where = f"environment variable {self.env}"
        else:
            assert self.file is not None  # guaranteed by the validator
            where = f"file {self.file}"
            try:
                value = self.file.read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigError(
                    f"the secret {where} cannot be read",
                    code="config.secret_unavailable",
                    remediation="Create the file (readable by this process) or fix its path.",
                ) from exc
        if not value:
            raise ConfigError(
                f"the secret {where} is unset or empty",
                code="config.secret_unavailable",
                remediation=f"Set the {where} to the secret before starting contractsync.",
            )
        return SecretStr(value)


WebhookScheme = Literal["standard_webhooks", "docusign_connect", "ironclad"]
WebhookShape = Literal["standard", "docusign", "ironclad"]

_SHAPE_OF_SCHEME: dict[str, WebhookShape] = {
    "standard_webhooks": "standard",
    "docusign_connect": "docusign",
    "ironclad": "ironclad",
}


class WebhookSourceSettings(BaseModel):
    """One sender of webhooks, served at ``POST /webhooks/<name>``."""

    model_config = ConfigDict(extra="forbid")

    scheme: WebhookScheme = Field(
        title="Signature scheme",
        description="standard_webhooks (HMAC, whsec_ secrets), docusign_connect (Connect HMAC "
        "keys) or ironclad (RSA; the secrets are PEM public keys).",
    )
    shape: WebhookShape | None = Field(
        default=None,
        title="Body shape",
        description="How the body is read: standard (CloudEvents-style JSON), docusign (JSON "
        "SIM) or ironclad; defaults to the scheme's own.",
    )
    secrets: list[SecretRef] = Field(
        min_length=1,
        title="Signing keys",
        description="Every active key, by env var or file; two during a rotation.",
    )

    @property
    def body_shape(self) -> WebhookShape:
        """The configured shape, or the one that goes with the scheme."""
        return self.shape or _SHAPE_OF_SCHEME[self.scheme]


SourceName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,63}$")]


class PollerSettings(BaseModel):
    """How one source without webhooks is polled (``services.polling.poll_once``)."""

    model_config = ConfigDict(extra="forbid")

    interval_seconds: float = Field(
        default=60.0, gt=0, le=86_400, title="Seconds between passes that caught up"
    )
    page_limit: int = Field(default=100, ge=1, le=10_000, title="Events asked for per page")
    max_pages: int = Field(
        default=10, ge=1, le=1000, title="Pages per pass; a pass at this bound is followed at once"
    )
    backoff_cap_seconds: float = Field(
        default=300.0, gt=0, title="Longest pause between passes while the source fails"
    )


class IngressSettings(BaseModel):
    """Webhook ingress limits and the sources it accepts."""

    model_config = ConfigDict(extra="forbid")

    max_body_bytes: int = Field(default=1_048_576, ge=1024, title="Largest accepted webhook body")
    timestamp_tolerance_seconds: int = Field(default=300, ge=1, title="Allowed clock difference")
    dedupe_days: int = Field(
        default=14,
        ge=14,
        title="How long inbound event ids are remembered (senders retry for days)",
    )
    sources: dict[
        Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,63}$")],
        WebhookSourceSettings,
    ] = Field(
        default_factory=dict,
        title="Webhook sources",
        description="Per source name (the path segment): its signature scheme, body shape and "
        "keys. A name not listed here gets 404.",
    )
    pollers: dict[SourceName, PollerSettings] = Field(
        default_factory=dict,
        title="Polled sources",
        description="Per system name in `systems`: a feed without webhooks (Kantata "
        "subscribed_events, NetSuite saved searches) read on this schedule, its cursor stored.",
    )


SystemVendor = Literal["salesforce", "tryton", "netsuite", "kantata", "ironclad", "docusign"]


class SystemSettings(BaseModel):
    """One external system: its vendor, and that vendor adapter's own settings."""

    model_config = ConfigDict(extra="forbid")

    vendor: SystemVendor = Field(title="Vendor", description="Which adapter talks to it.")
    options: dict[str, Any] = Field(
        default_factory=dict,
        title="Adapter settings",
        description="The vendor adapter's settings (adapters/<vendor>/config.py) except secrets; "
        "validated when the adapter is built (contractsync check reports them).",
    )
    secrets: dict[str, SecretRef] = Field(
        default_factory=dict,
        title="Secret adapter settings",
        description="Adapter settings that are secrets (client_secret, password ...), each "
        "by env var or file.",
    )

    @model_validator(mode="after")
    def _secrets_apart(self) -> SystemSettings:
        both = sorted(set(self.options) & set(self.secrets))
        if both:
            raise ValueError(f"{', '.join(both)} must be given under secrets only")
        return self


ApiRole = Literal["integration-admin", "finance", "legal", "delivery", "auditor"]
ApiScope = Literal[
    "customers:read",
    "contracts:read",
    "contracts:write",
    "billing:read",
    "exceptions:read",
    "exceptions:write",
    "events:read",
    "replay:write",
    "pricing:read",
    "audit:read",
]

_READ_SCOPES: tuple[ApiScope, ...] = ("customers:read", "contracts:read", "events:read")
ROLE_SCOPES: dict[str, frozenset[str]] = {
    "integration-admin": frozenset(get_args(ApiScope)),
    "finance": frozenset(
        {*_READ_SCOPES, "billing:read", "exceptions:read", "exceptions:write", "pricing:read"}
    ),
    "legal": frozenset({*_READ_SCOPES, "contracts:write", "exceptions:read", "exceptions:write"}),
    "delivery": frozenset({*_READ_SCOPES, "exceptions:read", "exceptions:write"}),
    "auditor": frozenset(
        {*_READ_SCOPES, "billing:read", "exceptions:read", "pricing:read", "audit:read"}
    ),
}
"""The most each role may hold; a key's ``scopes`` can only narrow its role's set."""


class ApiKeySettings(BaseModel):
    """One API key of the process API: who holds it, its role and scopes, where its secret is."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,63}$")] = Field(
        title="Key id", description="Names the key in audit entries and idempotency scopes."
    )
    role: ApiRole = Field(title="Role", description="The holder's role; bounds its scopes.")
    scopes: list[ApiScope] | None = Field(
        default=None,
        title="Scopes",
        description="What the key may do; defaults to everything its role may hold.",
    )
    secret: SecretRef = Field(
        title="Key secret",
        description="The bearer token, by env var or file (at least 32 characters).",
    )

    @model_validator(mode="after")
    def _scopes_within_role(self) -> ApiKeySettings:
        beyond = sorted(set(self.scopes or ()) - ROLE_SCOPES[self.role])
        if beyond:
            raise ValueError(f"role {self.role} may not hold {', '.join(beyond)}")
        return self

    @property
    def granted(self) -> frozenset[str]:
        """The scopes the key holds: the ones listed, else its role's."""
        return ROLE_SCOPES[self.role] if self.scopes is None else frozenset(self.scopes)


class ApiSettings(BaseModel):
    """The process API (``/api/v1``): its keys and how long Idempotency-Keys are kept."""

    model_config = ConfigDict(extra="forbid")

    keys: list[ApiKeySettings] = Field(
        default_factory=list,
        title="API keys",
        description="Every key the API accepts as `Authorization: Bearer <secret>`; none: "
        "every /api/v1 request gets 401.",
    )
    idempotency_hours: int = Field(
        default=24, ge=24, le=24 * 30, title="Hours an Idempotency-Key is remembered"
    )

    @model_validator(mode="after")
    def _unique_names(self) -> ApiSettings:
        names = [key.name for key in self.keys]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"api.keys names {', '.join(twice)} more than once")
        return self


class Settings(BaseSettings):
    """Everything contractsync can be configured with."""

    model_config = SettingsConfigDict(
        env_prefix="CONTRACTSYNC_",
        env_nested_delimiter="__",
        extra="forbid",
        yaml_file=None,
    )

    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    policy: PolicySettings = Field(default_factory=PolicySettings)
    messaging: MessagingSettings = Field(default_factory=MessagingSettings)
    engine: EngineSettings = Field(default_factory=EngineSettings)
    ingress: IngressSettings = Field(default_factory=IngressSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    flows: FlowSettings = Field(default_factory=FlowSettings)
    reconciliation: ReconciliationSettings = Field(default_factory=ReconciliationSettings)
    systems: dict[SourceName, SystemSettings] = Field(
        default_factory=dict,
        title="External systems",
        description="Per system name (as used in refs, queues and pollers): vendor and settings.",
    )
    ownership: OwnershipMap = Field(
        default=DEFAULT_OWNERSHIP,
        title="System-of-record ownership",
        description="Which system (crm, clm, esign, psa, erp) owns which entity field.",
    )

    @model_validator(mode="after")
    def _pollers_name_systems(self) -> Settings:
        unknown = sorted(set(self.ingress.pollers) - set(self.systems))
        if unknown:
            raise ValueError(
                f"ingress.pollers names {', '.join(unknown)}, which systems does not configure"
            )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Environment beats the YAML file, which beats the defaults."""
        yaml_file = settings_cls.model_config.get("yaml_file")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if yaml_file is not None:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=yaml_file))
        sources.append(file_secret_settings)
        return tuple(sources)


def load_settings(path: Path | None = None, **overrides: Any) -> Settings:
    """Read and validate the settings.

    Args:
        path: The YAML file; ``contractsync.yaml`` in the working directory when it exists.
        overrides: Values that beat every other source (used by tests and the CLI).

    Raises:
        ConfigError: if the file is missing (when named), is not YAML, or a value is invalid.
    """
    if path is not None and not path.is_file():
        raise ConfigError(
            f"config file {path} does not exist",
            remediation="Pass an existing file with --config, or drop the option to use defaults.",
        )
    yaml_path = path or (DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None)
    if yaml_path is not None:
        _check_yaml(yaml_path)

    class _FileSettings(Settings):
        model_config = SettingsConfigDict(yaml_file=yaml_path)

    try:
        loaded = _FileSettings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(
            f"invalid settings: {problems}",
            remediation=(
                "Fix the named key in contractsync.yaml or its CONTRACTSYNC_<SECTION>__<KEY> "
                "environment variable."
            ),
            detail={"errors": [str(e["loc"]) for e in exc.errors()]},
        ) from exc
    return Settings.model_validate(loaded.model_dump())


def _check_yaml(path: Path) -> None:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    if document is not None and not isinstance(document, dict):
        raise ConfigError(f"{path} must hold a mapping of sections, not {type(document).__name__}")
