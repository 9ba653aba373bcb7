"""Typed settings for reaching one Salesforce org with the OAuth2 client-credentials flow."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr

from contractsync.domain.codes import CurrencyCode


class SalesforceSettings(BaseModel):
    """Where the org is, which connected app the hub uses, and the org's custom field names.

    The client secret is a ``SecretStr``: it never shows in logs, reprs or errors. The custom
    fields must exist in the org (``docs/systems.md`` lists them); the external-id field must
    be marked "External ID" (and, best, "Unique") on Account.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    instance_url: HttpUrl = Field(
        title="Instance URL",
        description="The org's My Domain URL, e.g. https://acme.my.salesforce.com.",
    )
    login_url: HttpUrl | None = Field(
        default=None,
        title="Token URL base",
        description="Where /services/oauth2/token is served; the instance URL when unset.",
    )
    client_id: str = Field(min_length=1, title="Client id", description="Connected app key.")
    client_secret: SecretStr = Field(
        title="Client secret", description="Connected app secret; pass it by env var or file."
    )
    api_version: str = Field(
        default="62.0", pattern=r"^\d{2}\.\d$", title="API version", description="e.g. 62.0."
    )
    account_external_id_field: str = Field(
        default="Canonical_Id__c",
        title="Account external id field",
        description="Account field holding the canonical customer id (External ID, Unique).",
    )
    tax_ids_field: str = Field(
        default="Tax_Identifiers__c",
        title="Tax identifiers field",
        description="Account text field holding 'scheme:value' pairs separated by ';'.",
    )
    is_business_field: str = Field(
        default="Is_Business__c",
        title="Business customer field",
        description="Account checkbox: unchecked for a consumer (B2C) customer.",
    )
    contract_id_field: str = Field(
        default="Contract_Id__c",
        title="Opportunity contract id field",
        description="Opportunity field holding the CLM contract id, once it exists.",
    )
    default_currency: CurrencyCode = Field(
        default="USD",
        title="Org currency",
        description="Currency of Amount in orgs without multi-currency (no CurrencyIsoCode).",
    )
    rate_limit_wait_seconds: float = Field(
        default=60.0,
        ge=0,
        title="Wait after REQUEST_LIMIT_EXCEEDED",
        description="Salesforce sends no Retry-After with its 403 limit errors; wait this long.",
    )
    timeout_seconds: float = Field(default=30.0, gt=0, title="Read timeout in seconds")
    connect_timeout_seconds: float = Field(default=5.0, gt=0, title="Connect timeout in seconds")

    @property
    def token_url(self) -> str:
        """The OAuth2 token endpoint."""
        base = str(self.login_url or self.instance_url).rstrip("/")
        return f"{base}/services/oauth2/token"

    @property
    def data_path(self) -> str:
        """The versioned REST root path, ``/services/data/vXX.X``."""
        return f"/services/data/v{self.api_version}"


__all__ = ["SalesforceSettings"]
