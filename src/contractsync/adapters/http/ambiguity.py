"""Resolve an ambiguous commit by looking the record up before any second write."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from contractsync.errors import AmbiguousCommitError, ConfigError, ContractSyncError

T = TypeVar("T")


def _check(max_writes: int) -> None:
    if max_writes < 1:
        raise ConfigError("resolve_ambiguous needs max_writes >= 1.", code="config.invalid")


def _unresolved(last: AmbiguousCommitError, writes: int) -> AmbiguousCommitError:
    return AmbiguousCommitError(
        f"After {writes} write(s) whose responses were lost, the record could not be found "
        "and was not written again: whether it exists is unknown.",
        code="remote.ambiguous_commit_unresolved",
        remediation=(
            "Reconcile the record in the remote system by its external reference, then retry "
            "or resolve the exception item."
        ),
        detail={**last.detail, "writes": writes, "needs_reconciliation": True},
    )


def _lookup_failed(last: AmbiguousCommitError, writes: int) -> AmbiguousCommitError:
    return AmbiguousCommitError(
        "The write's response was lost and the lookup that would settle it failed.",
        detail={**last.detail, "writes": writes, "lookup_failed": True},
        remediation=(
            "Nothing to do: the step is retried with lookup first; it never writes blindly."
        ),
    )


def resolve_ambiguous(
    write: Callable[[], T],
    lookup: Callable[[], T | None],
    *,
    max_writes: int = 2,
    lookup_first: bool = False,
) -> T:
    """Write a record, and after an ``AmbiguousCommitError`` find out whether it landed.

    After each ambiguous write, ``lookup`` (by the record's external ref) runs before anything
    else; the record it finds is the result. Only when it proves the write did not land
    (returns ``None``) is the write sent again, at most ``max_writes`` times in total.

    ``lookup`` must read a consistent source (get by external id), never a lagging search
    index, or "not found" would not prove anything. A step retried after this function raised
    must pass ``lookup_first=True`` so that it never writes blindly.

    Args:
        write: Sends the write and returns the created or updated record.
        lookup: Returns the record found by its external ref, or ``None``.
        max_writes: Writes to attempt in total before giving up.
        lookup_first: Look the record up before the first write (a retry after ambiguity).

    Returns:
        The written or found record.

    Raises:
        AmbiguousCommitError: ``remote.ambiguous_commit_unresolved`` with
            ``needs_reconciliation`` after ``max_writes`` ambiguous writes; or, chained from
            the lookup's own error, when the lookup itself failed.
        ConfigError: ``max_writes`` < 1.
        ContractSyncError: Any other error of ``write`` or ``lookup``, unchanged.
    """
    _check(max_writes)
    if lookup_first and (found := lookup()) is not None:
        return found
    writes = 0
    while True:
        writes += 1
        try:
            return write()
        except AmbiguousCommitError as error:
            try:
                found = lookup()
            except ContractSyncError as lookup_error:
                raise _lookup_failed(error, writes) from lookup_error
            if found is not None:
                return found
            if writes >= max_writes:
                raise _unresolved(error, writes) from error


async def resolve_ambiguous_async(
    write: Callable[[], Awaitable[T]],
    lookup: Callable[[], Awaitable[T | None]],
    *,
    max_writes: int = 2,
    lookup_first: bool = False,
) -> T:
    """Await a write and resolve ambiguity by lookup; the asynchronous twin of ``resolve_ambiguous``.

    Args:
        write: Sends the write and returns the created or updated record.
        lookup: Returns the record found by its external ref, or ``None``.
        max_writes: Writes to attempt in total before giving up.
        lookup_first: Look the record up before the first write.

    Returns:
        The written or found record.

    Raises:
        AmbiguousCommitError: As ``resolve_ambiguous``.
        ConfigError: ``max_writes`` < 1.
        ContractSyncError: Any other error of ``write`` or ``lookup``, unchanged.
    """
    _check(max_writes)
    if lookup_first and (found := await lookup()) is not None:
        return found
    writes = 0
    while True:
        writes += 1
        try:
            return await write()
        except AmbiguousCommitError as error:
            try:
                found = await lookup()
            except ContractSyncError as lookup_error:
                raise _lookup_failed(error, writes) from lookup_error
            if found is not None:
                return found
            if writes >= max_writes:
                raise _unresolved(error, writes) from error


__all__ = ["resolve_ambiguous", "resolve_ambiguous_async"]
