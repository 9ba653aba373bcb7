"""Typed settings for reaching one Kantata OX account with an OAuth 2.0 bearer token."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr


class KantataSettings(BaseModel):
    """Where the account is, the integration's token, and how the event feed is read.

    The token is a ``SecretStr``: it never shows in logs, reprs or errors. Subscribed events
    need an account administrator's token and the Subscribed Events add-on.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: HttpUrl = Field(
        default=HttpUrl("https://api.mavenlink.com"),
        title="API host",
        description="Scheme and host; the API lives under /api/v1.",
    )
    token: SecretStr = Field(
        title="Bearer token", description="OAuth 2.0 token; by env var or file."
    )
    service_name: str = Field(
        default="contractsync",
        min_length=1,
        title="Integration name",
        description="external_references.service_name of every link the hub writes.",
    )
    creator_role: Literal["maven", "buyer"] = Field(
        default="maven", title="Creator role", description="Our side in new projects (provider)."
    )
    per_page: int = Field(default=200, ge=1, le=200, title="Page size of list reads")
    event_overlap_seconds: float = Field(
        default=900.0,
        ge=0,
        title="Event overlap",
        description="Each poll re-reads this far behind the newest event seen, so events that "
        "appear late (Kantata: 'may take some time') are still found. Keep it above the lag.",
    )
    event_types: tuple[str, ...] = Field(
        default=("story:created", "story:updated", "time_entry:created", "workspace:updated"),
        title="Event types polled",
    )
    integration_user_id: int | None = Field(
        default=None,
        title="Integration user id",
        description="Changes made by this Kantata user (the hub itself) are not reported.",
    )
    rate_limit_wait_seconds: float = Field(
        default=5.0,
        ge=0,
        title="Wait after 429",
        description="[U] Kantata documents no Retry-After: wait at least this long.",
    )
    read_attempts: int = Field(default=4, ge=1, title="Attempts of a read or a write")
    retry_base_seconds: float = Field(default=0.25, gt=0, title="Retry base in seconds")
    system: str = Field(default="kantata", pattern=r"^[a-z][a-z0-9_-]*$", title="System name")
    timeout_seconds: float = Field(default=30.0, gt=0, title="Read timeout in seconds")
    connect_timeout_seconds: float = Field(default=5.0, gt=0, title="Connect timeout in seconds")

    @property
    def api_url(self) -> str:
        """The API root, ``https://api.mavenlink.com/api/v1``."""
        return f"{str(self.base_url).rstrip('/')}/api/v1"


__all__ = ["KantataSettings"]
