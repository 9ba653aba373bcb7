"""Audit chain verification: find the first entry that proves the log was tampered with.

What the chain can prove, and what it cannot:

- an edited entry (a flipped byte anywhere in its content) fails its own hash;
- a deleted entry leaves a gap in ``seq`` (or, if the rest was renumbered, a broken link);
- an inserted entry is skipped over by the next entry's link (or fails its own hash);
- two reordered entries break the link at the first of them;
- a truncated tail, or a whole chain rewritten by an insider, verifies: those are only
  caught by comparing the head (``last_seq``, ``head_hash``) with a checkpoint kept elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from contractsync.ports.storage import GENESIS_HASH, AuditEntry, UnitOfWork


class ChainFault(StrEnum):
    """Why an entry breaks the chain."""

    EDITED = "edited"
    """The entry's content does not match its hash: edited or forged."""
    DELETED = "deleted"
    """``seq`` jumps: the entries in between are gone."""
    INSERTED = "inserted"
    """The next entry links past this one: it was slipped in."""
    BROKEN_LINK = "broken_link"
    """The entry does not link to the one before it: inserted, deleted or reordered."""


@dataclass(frozen=True)
class ChainBreak:
    """The first place where the chain is broken."""

    position: int
    """0-based index in the entries checked."""
    seq: int
    fault: ChainFault
    explanation: str


@dataclass(frozen=True)
class ChainReport:
    """The outcome of a verification: intact, or the first break."""

    checked: int
    last_seq: int
    head_hash: str
    first_break: ChainBreak | None = None

    @property
    def is_intact(self) -> bool:
        """True when no entry breaks the chain."""
        return self.first_break is None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view of the report."""
        broken = self.first_break
        return {
            "intact": self.is_intact,
            "checked": self.checked,
            "last_seq": self.last_seq,
            "head_hash": self.head_hash,
            "first_break": None
            if broken is None
            else {
                "position": broken.position,
                "seq": broken.seq,
                "fault": broken.fault.value,
                "explanation": broken.explanation,
            },
        }


def verify_chain(
    entries: Iterable[AuditEntry], *, prev_hash: str = GENESIS_HASH, prev_seq: int = 0
) -> ChainReport:
    """Check every entry in chain order and report the first break (pure; streams).

    Args:
        entries: The entries in ``seq`` order, as the log returns them.
        prev_hash: The hash the first entry must link to (the genesis hash for a full log).
        prev_seq: The ``seq`` before the first entry (0 for a full log).

    Returns:
        A report: intact with the head reached, or the first broken position and why.
    """
    checked = 0
    before_prev = ""  # the hash the previous entry linked to: an insertion links past it
    for position, entry in enumerate(entries):
        fault = _fault(entry, prev_hash=prev_hash, prev_seq=prev_seq, before_prev=before_prev)
        if fault is not None:
            kind, explanation = fault
            if kind is ChainFault.INSERTED:
                position, seq = position - 1, prev_seq
            else:
                seq = entry.seq
            broken = ChainBreak(position=position, seq=seq, fault=kind, explanation=explanation)
            return ChainReport(checked, prev_seq, prev_hash, broken)
        before_prev, prev_hash, prev_seq = entry.prev_hash, entry.hash, entry.seq
        checked += 1
    return ChainReport(checked=checked, last_seq=prev_seq, head_hash=prev_hash)


def _fault(
    entry: AuditEntry, *, prev_hash: str, prev_seq: int, before_prev: str
) -> tuple[ChainFault, str] | None:
    if entry.hash != entry.expected_hash():
        return ChainFault.EDITED, (
            f"entry {entry.seq} does not match its hash: its content was edited, or it was forged"
        )
    if entry.seq != prev_seq + 1:
        missing = (
            f"{prev_seq + 1}" if entry.seq == prev_seq + 2 else f"{prev_seq + 1}..{entry.seq - 1}"
        )
        return ChainFault.DELETED, (
            f"entry {entry.seq} follows entry {prev_seq}: entry {missing} was deleted"
        )
    if entry.prev_hash == prev_hash:
        return None
    if before_prev and entry.prev_hash == before_prev:
        return ChainFault.INSERTED, (
            f"entry {entry.seq} links past entry {prev_seq}: entry {prev_seq} was inserted"
        )
    return ChainFault.BROKEN_LINK, (
        f"entry {entry.seq} does not link to entry {prev_seq}: an entry before it was "
        "inserted, deleted or moved"
    )


def read_chain(uow: UnitOfWork, *, page: int = 1000) -> Iterator[AuditEntry]:
    """Every entry of the log in chain order, read ``page`` entries at a time (inside ``uow``)."""
    after = 0
    while batch := uow.audit.entries(after_seq=after, limit=page):
        yield from batch
        after = batch[-1].seq


def verify_log(uow: UnitOfWork) -> ChainReport:
    """Verify the whole audit log behind ``uow`` (an open unit of work; nothing is written)."""
    return verify_chain(read_chain(uow))
