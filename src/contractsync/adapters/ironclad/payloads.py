"""Ironclad wire payloads: token, workflow, page and error models, and typed attribute reading.

Attribute values arrive as Ironclad types them: strings, JSON numbers (decoded as ``Decimal``
by the client, never float), booleans, dates as ISO 8601 strings, monetary amounts
``{"currency", "amount"}`` and tables (arrays of flat objects). ``Attributes`` reads one
value at a time and raises a ``DataError`` that names the attribute (``milestones[2].dueDate``)
when it is missing or of the wrong type.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from contractsync.errors import DataError


class TokenResponse(BaseModel):
    """``POST /oauth/token`` (client credentials)."""

    model_config = ConfigDict(extra="ignore")

    access_token: SecretStr
    token_type: str = "Bearer"
    expires_in: int | None = None


class ErrorBody(BaseModel):
    """Ironclad's error body ``{code, message, param}``."""

    model_config = ConfigDict(extra="ignore")

    code: str | None = None
    message: str | None = None
    param: str | None = None


class ApprovalState(BaseModel):
    """``WorkflowStateModel``: ``not_started``, ``in_progress``, ``completed``, ``not_applicable``."""

    model_config = ConfigDict(extra="ignore")

    state: str


class WorkflowModel(BaseModel):
    """The parts of ``WorkflowResponseModel`` the hub reads."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    id: str
    ironclad_id: str | None = Field(default=None, alias="ironcladId")
    title: str = ""
    template: str | None = None
    step: str | None = None
    status: str = "active"
    attributes: dict[str, Any] = Field(default_factory=dict)
    is_cancelled: bool = Field(default=False, alias="isCancelled")
    is_complete: bool = Field(default=False, alias="isComplete")
    last_updated: datetime | None = Field(default=None, alias="lastUpdated")
    approvals: ApprovalState | None = None


class WorkflowPage(BaseModel):
    """``GET /workflows``: ``{page, pageSize, count, list}``."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    page: int
    page_size: int = Field(alias="pageSize")
    count: int
    items: list[WorkflowModel] = Field(alias="list")


class Attributes:
    """Typed, named access to a workflow's attributes (or to one row of a table).

    Args:
        values: The attribute map (or a table row).
        workflow_id: The workflow, named in errors.
        path: The row's path (``milestones[2]``), empty for the workflow itself.
    """

    def __init__(self, values: Mapping[str, Any], *, workflow_id: str, path: str = "") -> None:
        self._values = values
        self.workflow_id = workflow_id
        self._path = path

    def name(self, key: str) -> str:
        """The full attribute path of ``key``, as errors show it."""
        return f"{self._path}.{key}" if self._path else key

    def error(self, key: str, problem: str) -> DataError:
        """A ``DataError`` naming the attribute and what is wrong with it."""
        attribute = self.name(key)
        missing = problem == "is missing"
        return DataError(
            f"Ironclad workflow {self.workflow_id}: attribute {attribute} {problem}.",
            code="ironclad.attribute_missing" if missing else "ironclad.attribute_invalid",
            remediation=f"Set {attribute} on the workflow in Ironclad, then retry.",
            detail={"workflow_id": self.workflow_id, "attribute": attribute},
        )

    def has(self, key: str) -> bool:
        """True when the attribute is present and not null or empty."""
        return self._values.get(key) not in (None, "", [])

    def _required(self, key: str) -> Any:
        if not self.has(key):
            raise self.error(key, "is missing")
        return self._values[key]

    def text(self, key: str) -> str:
        """A required non-empty string."""
        value = self._required(key)
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, "is not text")
        return value.strip()

    def choice(self, key: str, table: Mapping[str, str]) -> str:
        """A required display value of ``table`` (canonical -> display), as its canonical key."""
        value = self.text(key)
        found = {display.casefold(): k for k, display in table.items()}.get(value.casefold())
        if found is None:
            raise self.error(key, f"is {value[:40]!r}, not one of {', '.join(table.values())}")
        return found

    def optional_text(self, key: str) -> str | None:
        """A string, or None when absent."""
        return self.text(key) if self.has(key) else None

    def decimal(self, key: str) -> Decimal:
        """A required number (a JSON number, or a numeric string)."""
        value = self._required(key)
        if isinstance(value, bool):
            raise self.error(key, "is not a number")
        try:
            number = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
        except InvalidOperation:
            raise self.error(key, "is not a number") from None
        if not number.is_finite():
            raise self.error(key, "is not a finite number")
        return number

    def optional_integer(self, key: str) -> int | None:
        """A whole number, or None when absent."""
        if not self.has(key):
            return None
        number = self.decimal(key)
        if number != number.to_integral_value():
            raise self.error(key, "is not a whole number")
        return int(number)

    def boolean(self, key: str, default: bool) -> bool:
        """A boolean, ``default`` when absent."""
        if key not in self._values or self._values[key] is None:
            return default
        value = self._values[key]
        if not isinstance(value, bool):
            raise self.error(key, "is not true or false")
        return value

    def day(self, key: str) -> date:
        """A required date attribute (``2025-02-01`` or an ISO 8601 instant at midnight UTC)."""
        value = self.text(key)
        try:
            if len(value) == 10:
                return date.fromisoformat(value)
            return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
        except ValueError:
            raise self.error(key, f"is not a date ({value[:40]!r})") from None

    def optional_day(self, key: str) -> date | None:
        """A date, or None when absent."""
        return self.day(key) if self.has(key) else None

    def money(self, key: str) -> tuple[Decimal, str]:
        """A required ``monetaryAmount``: (amount, currency)."""
        value = self._required(key)
        if not isinstance(value, Mapping):
            raise self.error(key, "is not a monetary amount")
        inner = Attributes(value, workflow_id=self.workflow_id, path=self.name(key))
        return inner.decimal("amount"), inner.text("currency").upper()

    def rows(self, key: str) -> Iterator[Attributes]:
        """Each row of a table attribute (none when absent)."""
        value = self._values.get(key)
        if value is None:
            return
        if not isinstance(value, list):
            raise self.error(key, "is not a table")
        for index, row in enumerate(value):
            if not isinstance(row, Mapping):
                raise self.error(f"{key}[{index}]", "is not a table row")
            yield Attributes(row, workflow_id=self.workflow_id, path=self.name(f"{key}[{index}]"))


def renamed(attributes: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, Any]:
    """Attributes keyed by contractsync's names, given ``ours -> the template's`` renames."""
    theirs = {template: ours for ours, template in names.items()}
    return {theirs.get(key, key): value for key, value in attributes.items()}


__all__ = [
    "ApprovalState",
    "Attributes",
    "ErrorBody",
    "TokenResponse",
    "WorkflowModel",
    "WorkflowPage",
    "renamed",
]
