"""Typed settings for reaching one Tryton database over JSON-RPC and for the hub's gateway."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr

from contractsync.adapters.http import RetryPolicy


class TrytonSettings(BaseModel):
    """Where the Tryton server is and who the hub logs in as.

    The password is a ``SecretStr`` so it never shows in logs, reprs or errors. When
    ``company_id`` is unset the user's current company (from Tryton's preferences) is used.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: HttpUrl = Field(
        title="Server URL",
        description="Base URL of trytond without the database, e.g. http://127.0.0.1:8000.",
    )
    database: str = Field(
        min_length=1, title="Database", description="Name of the Tryton database to work in."
    )
    user: str = Field(default="admin", min_length=1, title="User", description="Tryton login.")
    password: SecretStr = Field(
        title="Password", description="Password of the Tryton login; pass it by env var or file."
    )
    company_id: int | None = Field(
        default=None,
        ge=1,
        title="Company id",
        description="Tryton company (our legal entity) sent in every call's context.",
    )
    language: str = Field(
        default="en", title="Language", description="Language code for Tryton's messages."
    )
    timeout_seconds: float = Field(
        default=30.0, gt=0, title="Timeout", description="Seconds to wait for one JSON-RPC reply."
    )
    connect_timeout_seconds: float = Field(
        default=5.0, gt=0, title="Connect timeout", description="Seconds to wait for a connection."
    )

    system: str = Field(
        default="tryton",
        pattern=r"^[a-z][a-z0-9_-]*$",
        title="System name",
        description="Name of this ERP in the hub's external refs (tryton:party:42).",
    )
    retry_attempts: int = Field(
        default=5, ge=1, title="Attempts", description="Calls in total on transient errors."
    )
    retry_base_seconds: float = Field(
        default=0.5, gt=0, title="Retry base", description="Ceiling of the first retry's delay."
    )
    retry_cap_seconds: float = Field(
        default=30.0, gt=0, title="Retry cap", description="Largest ceiling of any retry delay."
    )
    billing_product_code: str = Field(
        default="contractsync-billing",
        min_length=1,
        title="Billing product",
        description="Code of the service product period invoices (T&M, retainers) are billed with.",
    )

    closed_status: str = Field(
        default="Closed",
        min_length=1,
        title="Closed project status",
        description="Work status a terminated contract's project is set to (created if missing; "
        "Tryton's Done would need every milestone task at 100 %, which bills it).",
    )

    @property
    def retry_policy(self) -> RetryPolicy:
        """The backoff the gateway applies to transient Tryton errors."""
        cap = max(self.retry_cap_seconds, self.retry_base_seconds)
        return RetryPolicy(self.retry_attempts, self.retry_base_seconds, cap)

    @property
    def base_url(self) -> str:
        """The server URL without a trailing slash."""
        return str(self.url).rstrip("/")
