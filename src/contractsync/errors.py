"""The error tree: every error says what happens next.

    ContractSyncError (code, message, remediation, detail)
    ├── ConfigError            fix the settings; never retried
    ├── DomainError            a canonical-model invariant was broken by the caller
    │   ├── CurrencyMismatchError
    │   ├── IllegalTransitionError
    │   └── AmendmentError     a change does not fit the contract version it targets
    ├── TransientError         retry with backoff and jitter; honour ``retry_after``
    ├── RejectedError          the remote system refused; a human is needed
    ├── DataError              bad source data; becomes an ExceptionItem
    ├── ConflictError          someone else changed it; re-read and re-plan
    └── AmbiguousCommitError   the write may have happened; look it up before any retry

``message`` is safe to show a user; ``detail`` is internal context and never carries a secret.
Every error is picklable (workflow engines persist them) and serialises with ``as_dict``.
"""

from __future__ import annotations

from typing import Any


class ContractSyncError(Exception):
    """Base of every error contractsync raises on purpose.

    Args:
        message: What went wrong, in words a finance or ops user understands.
        code: A stable machine code (``snake.case``); never reworded once released.
        remediation: What to do next.
        detail: Internal context (identifiers, field paths); never secrets.
    """

    default_code = "contractsync.error"
    default_remediation = "Check the logs for the detail of this error."

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        remediation: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.remediation = remediation or self.default_remediation
        self.detail = dict(detail or {})

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickle rebuilds with cls(*args); keyword-only state must travel separately.
        return (_rebuild, (type(self), self.message, self.__dict__))

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-ready view: code, kind, message, remediation and detail."""
        return {
            "code": self.code,
            "kind": type(self).__name__,
            "message": self.message,
            "remediation": self.remediation,
            "detail": self.detail,
        }


def _rebuild(cls: type[ContractSyncError], message: str, state: dict[str, Any]) -> Any:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


class ConfigError(ContractSyncError):
    """The settings are wrong or incomplete; fix them and restart. Never retried."""

    default_code = "config.invalid"
    default_remediation = "Fix contractsync.yaml or the CONTRACTSYNC_* environment, then restart."


class DomainError(ContractSyncError):
    """A canonical-model invariant would be broken; the caller passed an impossible request."""

    default_code = "domain.invariant"
    default_remediation = "Correct the input so that it satisfies the rule named in the message."


class CurrencyMismatchError(DomainError):
    """Two amounts in different currencies were combined; contractsync never converts silently."""

    default_code = "money.currency_mismatch"
    default_remediation = "Express every amount of one contract in the contract currency."


class IllegalTransitionError(DomainError):
    """A lifecycle status change that the state machine does not allow."""

    default_code = "lifecycle.illegal_transition"
    default_remediation = "Move the record through the allowed states listed in the detail."


class AmendmentError(DomainError):
    """An amendment (or plan) change does not fit the contract version it is applied to."""

    default_code = "amendment.does_not_apply"
    default_remediation = "Check that the amendment targets the current contract version."


class TransientError(ContractSyncError):
    """A temporary failure (429, 5xx, timeout); retrying later is expected to work.

    Args:
        retry_after: Seconds the remote system asked us to wait, when it said so.
    """

    default_code = "remote.transient"
    default_remediation = "Nothing to do: the step is retried with backoff."

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class RejectedError(ContractSyncError):
    """The remote system refused the request for a reason retrying will not change."""

    default_code = "remote.rejected"
    default_remediation = (
        "Read the remote system's reason in the detail, correct the record, retry."
    )


class DataError(ContractSyncError):
    """Source data is missing or malformed; a human must correct it."""

    default_code = "data.invalid"
    default_remediation = "Correct the source record, then retry the exception item."


class ConflictError(ContractSyncError):
    """The record changed since it was read; re-read, re-plan and try again."""

    default_code = "remote.conflict"
    default_remediation = "Nothing to do: the hub re-reads the record and plans again."


class AmbiguousCommitError(ContractSyncError):
    """A write was sent but its outcome is unknown (for example the response was lost)."""

    default_code = "remote.ambiguous_commit"
    default_remediation = "Nothing to do: the hub looks the record up before any retry."


__all__ = [
    "AmbiguousCommitError",
    "AmendmentError",
    "ConfigError",
    "ConflictError",
    "ContractSyncError",
    "CurrencyMismatchError",
    "DataError",
    "DomainError",
    "IllegalTransitionError",
    "RejectedError",
    "TransientError",
]
