"""The audit chain: how an entry's hash is made, and what verify_chain reports."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from contractsync.ports.storage import GENESIS_HASH, AuditEntry
from contractsync.services.audit import ChainFault, verify_chain

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def _chain(count: int) -> list[AuditEntry]:
    entries: list[AuditEntry] = []
    for n in range(1, count + 1):
        entries.append(
            AuditEntry.chained(
                seq=n,
                prev_hash=entries[-1].hash if entries else GENESIS_HASH,
                at=T0 + timedelta(seconds=n),
                actor="ops@firm",
                action="exception.assigned",
                subject=f"exception:EX-{n}",
                payload={"n": n, "note": "assigned to dana"},
            )
        )
    return entries


def _renumbered(entries: list[AuditEntry]) -> list[AuditEntry]:
    return [e.model_copy(update={"seq": i}) for i, e in enumerate(entries, start=1)]


def test_an_entry_hash_is_sha256_of_the_previous_hash_and_its_canonical_json() -> None:
    entry = AuditEntry.chained(
        seq=1,
        prev_hash=GENESIS_HASH,
        at=datetime(2026, 3, 2, 10, 30, tzinfo=timezone(timedelta(hours=1))),
        actor="ops",
        action="exception.raised",
        subject="exception:EX-1",
        payload={"b": 1, "a": "é"},
    )
    canonical = (
        '{"action":"exception.raised","actor":"ops","at":"2026-03-02T09:30:00.000000+00:00",'
        '"payload":{"a":"\\u00e9","b":1},"subject":"exception:EX-1"}'
    )
    assert entry.hash == hashlib.sha256((GENESIS_HASH + canonical).encode()).hexdigest()
    assert entry.at == T0
    assert json.loads(canonical)["payload"] == entry.payload


def test_an_untouched_chain_is_intact_and_reports_its_head() -> None:
    entries = _chain(5)
    report = verify_chain(entries)
    assert report.is_intact
    assert (report.checked, report.last_seq, report.head_hash) == (5, 5, entries[-1].hash)


def test_an_empty_log_is_intact() -> None:
    report = verify_chain([])
    assert report.is_intact
    assert (report.checked, report.last_seq, report.head_hash) == (0, 0, GENESIS_HASH)


@pytest.mark.parametrize(
    "change",
    [
        {"payload": {"n": 4, "note": "assigned to dan"}},
        {"actor": "someone@else"},
        {"at": T0},
        {"subject": "exception:EX-9"},
    ],
)
def test_an_edited_entry_is_reported_at_its_position(change: dict[str, object]) -> None:
    entries = _chain(6)
    entries[3] = entries[3].model_copy(update=change)
    broken = verify_chain(entries).first_break
    assert broken is not None
    assert (broken.position, broken.seq, broken.fault) == (3, 4, ChainFault.EDITED)


def test_a_deleted_entry_is_reported_at_the_entry_after_the_gap() -> None:
    entries = _chain(6)
    del entries[2]
    broken = verify_chain(entries).first_break
    assert broken is not None
    assert (broken.position, broken.seq, broken.fault) == (2, 4, ChainFault.DELETED)
    assert "entry 3 was deleted" in broken.explanation


def test_a_deleted_first_entry_is_reported() -> None:
    broken = verify_chain(_chain(3)[1:]).first_break
    assert broken is not None
    assert (broken.position, broken.fault) == (0, ChainFault.DELETED)


def test_a_deleted_entry_hidden_by_renumbering_still_breaks_the_link() -> None:
    entries = _chain(6)
    del entries[2]
    broken = verify_chain(_renumbered(entries)).first_break
    assert broken is not None
    assert (broken.position, broken.seq, broken.fault) == (2, 3, ChainFault.BROKEN_LINK)


def test_an_inserted_entry_with_a_correct_hash_is_reported_at_its_own_position() -> None:
    entries = _chain(6)
    forged = AuditEntry.chained(
        seq=3,
        prev_hash=entries[1].hash,
        at=T0,
        actor="insider",
        action="exception.dismissed",
        subject="exception:EX-3",
        payload={},
    )
    entries.insert(2, forged)
    broken = verify_chain(_renumbered(entries)).first_break
    assert broken is not None
    assert (broken.position, broken.seq, broken.fault) == (2, 3, ChainFault.INSERTED)


def test_an_inserted_entry_with_a_made_up_hash_fails_its_own_hash() -> None:
    entries = _chain(6)
    forged = entries[2].model_copy(update={"actor": "insider", "hash": "f" * 64})
    entries.insert(2, forged)
    broken = verify_chain(_renumbered(entries)).first_break
    assert broken is not None
    assert (broken.position, broken.fault) == (2, ChainFault.EDITED)


@pytest.mark.parametrize(("first", "second"), [(2, 3), (1, 4)])
def test_two_reordered_entries_are_reported_at_the_first_of_them(first: int, second: int) -> None:
    entries = _chain(6)
    entries[first], entries[second] = entries[second], entries[first]
    broken = verify_chain(_renumbered(entries)).first_break
    assert broken is not None
    assert (broken.position, broken.seq, broken.fault) == (first, first + 1, ChainFault.BROKEN_LINK)


def test_a_truncated_tail_verifies_and_only_the_head_reveals_it() -> None:
    entries = _chain(6)
    report = verify_chain(entries[:4])
    assert report.is_intact
    assert report.head_hash != entries[-1].hash


def test_a_page_of_the_log_is_verified_from_the_entry_before_it() -> None:
    entries = _chain(6)
    report = verify_chain(entries[3:], prev_hash=entries[2].hash, prev_seq=3)
    assert report.is_intact
    assert verify_chain(entries[3:]).first_break is not None


def test_the_report_reads_as_json() -> None:
    entries = _chain(3)
    entries[1] = entries[1].model_copy(update={"actor": "x"})
    report = verify_chain(entries).as_dict()
    assert report["intact"] is False
    assert report["first_break"]["fault"] == "edited"
    assert report["first_break"]["seq"] == 2
    json.dumps(report)
