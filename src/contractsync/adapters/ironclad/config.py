"""Typed settings for reaching one Ironclad company: base URL, OAuth client or API key, acting user."""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr, model_validator


class IroncladSettings(BaseModel):
    """Where the company's Ironclad is and how the hub authenticates there.

    Either ``client_id`` + ``client_secret`` (OAuth 2.0 client credentials, the recommended
    way; every call then names the acting user in ``x-as-user-email``) or a legacy ``api_key``.
    Secrets are ``SecretStr``: they never show in logs, reprs or errors.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: HttpUrl = Field(
        default=HttpUrl("https://na1.ironcladapp.com"),
        title="Ironclad URL",
        description="https://na1.ironcladapp.com (US), https://eu1.ironcladapp.com (EU) or "
        "https://demo.ironcladapp.com (demo).",
    )
    api_path: str = Field(
        default="/public/api/v1", title="API path", description="The public API root path."
    )
    client_id: str | None = Field(default=None, title="OAuth client id")
    client_secret: SecretStr | None = Field(default=None, title="OAuth client secret")
    scope: str = Field(
        default="public.workflows.readWorkflows public.workflows.readApprovals",
        title="OAuth scopes",
        description="Space-separated scopes the client asks for.",
    )
    api_key: SecretStr | None = Field(default=None, title="Legacy API key")
    as_user_email: str | None = Field(
        default=None,
        title="Acting user",
        description="Sent as x-as-user-email; required with client-credentials tokens.",
    )
    page_size: int = Field(
        default=100, ge=1, le=100, title="Largest page", description="pageSize cap (1-100)."
    )
    list_statuses: tuple[str, ...] = Field(
        default=("active", "completed"),
        title="Workflow statuses listed",
        description="The status filter of list_contracts (active, paused, completed, cancelled).",
    )
    attribute_names: dict[str, str] = Field(
        default_factory=dict,
        title="Attribute names",
        description="contractsync attribute name -> the template's own name, where they differ.",
    )
    rate_limit_wait_seconds: float = Field(
        default=60.0,
        ge=0,
        title="Wait after a 429 without Retry-After",
        description="Ironclad's buckets are per minute; whether a 429 carries Retry-After is "
        "unconfirmed, so this is the wait when it does not.",
    )
    timeout_seconds: float = Field(default=30.0, gt=0, title="Read timeout in seconds")
    connect_timeout_seconds: float = Field(default=5.0, gt=0, title="Connect timeout in seconds")

    @model_validator(mode="after")
    def _one_way_to_authenticate(self) -> Self:
        has_client = self.client_id is not None and self.client_secret is not None
        if has_client == (self.api_key is not None):
            raise ValueError("set either client_id and client_secret, or api_key")
        if has_client and not self.as_user_email:
            raise ValueError("as_user_email is required with client credentials")
        return self

    @property
    def uses_oauth(self) -> bool:
        """True for client credentials, False for a legacy API key."""
        return self.api_key is None

    @property
    def token_url(self) -> str:
        """The OAuth 2.0 token endpoint."""
        return f"{str(self.base_url).rstrip('/')}/oauth/token"

    @property
    def api_url(self) -> str:
        """The public API root URL."""
        return f"{str(self.base_url).rstrip('/')}{self.api_path}"


__all__ = ["IroncladSettings"]
