"""DocuSign wire payloads: token, userinfo, envelope, envelope page, error and Connect message.

Timestamps arrive with seven fractional digits (``2026-04-29T19:00:00.0000000Z``), which
Python's ``fromisoformat`` refuses before 3.11's relaxed parser; ``instant`` reads them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

_FRACTION = re.compile(r"\.(\d{6})\d*")


def instant(value: str) -> datetime:
    """A DocuSign timestamp as an aware UTC datetime.

    Raises:
        ValueError: The text is not an ISO 8601 instant.
    """
    text = _FRACTION.sub(r".\1", value.strip()).replace("Z", "+00:00")
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class TokenResponse(_Wire):
    """``POST /oauth/token`` (JWT grant)."""

    access_token: SecretStr
    expires_in: int = 3600


class Account(_Wire):
    """One account the user belongs to, and where its API lives."""

    account_id: str
    is_default: bool = False
    base_uri: str


class UserInfo(_Wire):
    """``GET /oauth/userinfo``."""

    accounts: list[Account]


class ErrorBody(_Wire):
    """DocuSign's error body ``{errorCode, message}``."""

    error_code: str | None = Field(default=None, alias="errorCode")
    message: str | None = None


class TextCustomField(_Wire):
    """One text custom field of an envelope."""

    name: str
    value: str | None = None


class CustomFields(_Wire):
    """``{textCustomFields, listCustomFields}``."""

    text_custom_fields: list[TextCustomField] = Field(
        default_factory=list, alias="textCustomFields"
    )

    def value_of(self, name: str) -> str | None:
        """The value of the text field ``name``, if set."""
        found = next((f for f in self.text_custom_fields if f.name == name), None)
        return found.value.strip() if found and found.value and found.value.strip() else None


class Envelope(_Wire):
    """The parts of an envelope the hub reads."""

    envelope_id: str = Field(alias="envelopeId")
    status: str
    completed_date_time: datetime | None = Field(default=None, alias="completedDateTime")
    custom_fields: CustomFields | None = Field(default=None, alias="customFields")

    @field_validator("completed_date_time", mode="before")
    @classmethod
    def _docusign_instant(cls, value: Any) -> Any:
        return instant(value) if isinstance(value, str) and value else value


class EnvelopePage(_Wire):
    """``GET .../envelopes`` (list status changes); sizes arrive as strings."""

    envelopes: list[Envelope] = Field(default_factory=list)
    result_set_size: int = Field(default=0, alias="resultSetSize")
    total_set_size: int = Field(default=0, alias="totalSetSize")
    start_position: int = Field(default=0, alias="startPosition")
    next_uri: str | None = Field(default=None, alias="nextUri")


__all__ = [
    "Account",
    "CustomFields",
    "Envelope",
    "EnvelopePage",
    "ErrorBody",
    "TextCustomField",
    "TokenResponse",
    "UserInfo",
    "instant",
]
