"""Typed settings for reaching one NetSuite account over SuiteTalk REST with M2M OAuth 2.0."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr

from contractsync.errors import DataError


class NetSuiteFieldNames(BaseModel):
    """The custom fields the hub keeps its keys in; they must exist in the account."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    customer_tax_ids: str = Field(
        default="custentity_cs_tax_ids", description="Customer text: 'scheme:value;...'."
    )
    job_contract: str = Field(default="custentity_cs_contract_id", description="Project field.")
    task_milestone: str = Field(default="custevent_cs_milestone_id", description="Task field.")
    order_contract: str = Field(default="custbody_cs_contract_id", description="Order field.")
    order_version: str = Field(default="custbody_cs_contract_version", description="Order field.")
    order_basis: str = Field(
        default="custbody_cs_contract", description="Order long text: the contract as pushed."
    )
    line_key: str = Field(default="custcol_cs_line_id", description="Order line: contract line.")
    invoice_key: str = Field(default="custbody_cs_invoice_key", description="Invoice field.")
    schedule_key: str = Field(
        default="custrecord_cs_entry_key", description="Billing schedule milestone: entry key."
    )


class NetSuiteSettings(BaseModel):
    """Where the account is, the M2M integration the hub signs in as, and its reference data.

    The private key is a ``SecretStr`` (PEM); it never shows in logs, reprs or errors.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    account_id: str = Field(
        min_length=1, title="Account id", description="e.g. 1234567 or 1234567_SB1 (sandbox)."
    )
    base_url: HttpUrl | None = Field(
        default=None,
        title="Base URL",
        description="Defaults to https://<account>.suitetalk.api.netsuite.com; set it for a simulator.",
    )
    client_id: str = Field(min_length=1, title="Client id", description="Integration record.")
    certificate_id: str = Field(
        min_length=1, title="Certificate id", description="The M2M mapping's certificate id (kid)."
    )
    private_key: SecretStr = Field(
        title="Private key", description="PEM key of the mapped certificate; by env var or file."
    )
    algorithm: Literal["ES256", "PS256"] = Field(default="ES256", title="JWT algorithm")
    scopes: tuple[str, ...] = Field(default=("rest_webservices",), title="Scopes")
    currency_ids: dict[str, str] = Field(
        default={"USD": "1", "GBP": "2", "CAD": "3", "EUR": "4"},
        title="Currency ids",
        description="ISO code -> internal id of the currency record.",
    )
    service_items: dict[str, str] = Field(
        default_factory=dict,
        title="Service items",
        description="Service code -> internal id of the non-inventory service item.",
    )
    default_service_item: str = Field(
        default="10", title="Default service item", description="Item for unmapped service codes."
    )
    fields: NetSuiteFieldNames = Field(default_factory=NetSuiteFieldNames)
    concurrency_codes: tuple[str, ...] = Field(
        default=("CONCURRENCY_LIMIT_EXCEEDED", "SSS_REQUEST_LIMIT_EXCEEDED"),
        title="Concurrency refusal codes",
        description="[U] o:errorCode values meaning 'too many concurrent requests' (any status).",
    )
    concurrency_wait_seconds: float = Field(
        default=1.0,
        ge=0,
        title="Wait after a concurrency refusal",
        description="[U] whether NetSuite sends Retry-After; wait at least this long.",
    )
    closed_project_status: str = Field(
        default="1",
        min_length=1,
        title="Closed project status",
        description="[U] Internal id of the project status (job entityStatus) 'Closed' that "
        "close_project sets; check Setup > Accounting > Accounting Lists > Project Status.",
    )
    closed_period_codes: tuple[str, ...] = Field(
        default=("PERIOD_CLOSED",),
        title="Closed-period codes",
        description="[U] o:errorCode values meaning 'the accounting period is closed'.",
    )
    read_attempts: int = Field(
        default=3,
        ge=1,
        title="Read attempts",
        description="GETs are safe to repeat: a transient failure is retried this many times in all.",
    )
    read_retry_base_seconds: float = Field(
        default=0.2,
        gt=0,
        title="Read retry base",
        description="Ceiling of the first retry's delay.",
    )
    page_size: int = Field(default=1000, ge=1, le=1000, title="Collection page size")
    system: str = Field(default="netsuite", pattern=r"^[a-z][a-z0-9_-]*$", title="System name")
    timeout_seconds: float = Field(default=30.0, gt=0, title="Read timeout in seconds")
    connect_timeout_seconds: float = Field(default=5.0, gt=0, title="Connect timeout in seconds")

    @property
    def rest_url(self) -> str:
        """Scheme and host of the REST services, without a trailing slash."""
        if self.base_url is not None:
            return str(self.base_url).rstrip("/")
        host = self.account_id.lower().replace("_", "-")
        return f"https://{host}.suitetalk.api.netsuite.com"

    def currency_for(self, code: str) -> str:
        """The internal id of an ISO currency.

        Raises:
            DataError: ``netsuite.currency_unmapped`` when ``currency_ids`` lacks it.
        """
        if code not in self.currency_ids:
            raise DataError(
                f"No NetSuite currency is configured for {code}.",
                code="netsuite.currency_unmapped",
                remediation=f"Add {code} to currency_ids in the NetSuite settings (its internal id).",
            )
        return self.currency_ids[code]

    @property
    def token_url(self) -> str:
        """The OAuth 2.0 token endpoint (also the JWT ``aud``)."""
        return f"{self.rest_url}/services/rest/auth/oauth2/v1/token"


__all__ = ["NetSuiteFieldNames", "NetSuiteSettings"]
