"""Typed settings for reaching one DocuSign eSignature account with the JWT grant."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr


class DocuSignSettings(BaseModel):
    """The integration (app) the hub signs in as, the account, and how envelopes name contracts.

    The private key is a ``SecretStr`` PEM: it never shows in logs, reprs or errors. The user
    named by ``user_id`` must have granted the integration consent (``signature
    impersonation``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    auth_url: HttpUrl = Field(
        default=HttpUrl("https://account-d.docusign.com"),
        title="Authentication server",
        description="https://account-d.docusign.com (demo) or https://account.docusign.com.",
    )
    integration_key: str = Field(min_length=1, title="Integration key (client id)")
    user_id: str = Field(min_length=1, title="Impersonated user id (GUID)")
    private_key: SecretStr = Field(title="RSA private key (PEM) of the integration")
    account_id: str | None = Field(
        default=None,
        title="Account id",
        description="The account to read; the user's default account when unset.",
    )
    scopes: str = Field(default="signature impersonation", title="OAuth scopes")
    contract_field: str = Field(
        default="contractId",
        title="Contract id custom field",
        description="The envelope text custom field that holds the canonical contract id.",
    )
    list_statuses: tuple[str, ...] = Field(default=("completed",), title="Envelope statuses listed")
    list_since_days: int = Field(
        default=90, ge=1, le=3650, title="Listing window", description="from_date = today - N."
    )
    burst_wait_seconds: float = Field(
        default=30.0,
        ge=0,
        title="Wait after a burst limit",
        description="The burst window is 30 seconds; DocuSign sends no Retry-After.",
    )
    timeout_seconds: float = Field(default=30.0, gt=0, title="Read timeout in seconds")
    connect_timeout_seconds: float = Field(default=5.0, gt=0, title="Connect timeout in seconds")

    @property
    def token_url(self) -> str:
        """The OAuth token endpoint."""
        return f"{str(self.auth_url).rstrip('/')}/oauth/token"

    @property
    def userinfo_url(self) -> str:
        """The userinfo endpoint (accounts and their base URIs)."""
        return f"{str(self.auth_url).rstrip('/')}/oauth/userinfo"

    @property
    def audience(self) -> str:
        """The JWT ``aud``: the authentication server's host name."""
        return str(self.auth_url.host)


__all__ = ["DocuSignSettings"]
