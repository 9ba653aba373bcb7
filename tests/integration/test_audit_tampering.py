"""Tampering with the stored audit log is detected at the right entry, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine, delete, insert, select, text, update
from sqlalchemy.exc import DatabaseError

from contractsync.adapters.persistence.tables import audit_log
from contractsync.adapters.persistence.unit_of_work import SqlUnitOfWork
from contractsync.ports.storage import AuditEntry, canonical_json
from contractsync.services.audit import ChainFault, ChainReport, verify_log
from contractsync.testing.fakes import FixedClock
from contractsync.testing.storage_contract import T0

ENTRIES = 10


def disable_append_only_guard(engine: Engine) -> None:
    """Do what an insider with DDL rights could: switch the append-only triggers off."""
    with engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.execute(text("DROP TRIGGER audit_log_no_update"))
            connection.execute(text("DROP TRIGGER audit_log_no_delete"))
        else:
            connection.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))


@pytest.fixture
def written(engine: Engine) -> Engine:
    """Ten committed audit entries, seq 1..10, with the append-only guard switched off."""
    with SqlUnitOfWork(engine, FixedClock(T0)) as uow:
        for n in range(1, ENTRIES + 1):
            uow.audit.append(
                actor="ops@firm",
                action="exception.assigned",
                subject=f"exception:EX-{n}",
                payload={"n": n, "note": "assigned to dana"},
            )
        uow.commit()
    disable_append_only_guard(engine)
    return engine


def _verify(engine: Engine) -> ChainReport:
    with SqlUnitOfWork(engine, FixedClock(T0)) as uow:
        return verify_log(uow)


def _move(engine: Engine, moves: dict[int, int]) -> None:
    """Renumber entries (old seq -> new seq) through negative numbers, as an insider could."""
    with engine.begin() as connection:
        for old in moves:
            connection.execute(update(audit_log).where(audit_log.c.seq == old).values(seq=-old))
        for old, new in moves.items():
            connection.execute(update(audit_log).where(audit_log.c.seq == -old).values(seq=new))


def test_the_database_refuses_to_change_or_delete_an_audit_entry(engine: Engine) -> None:
    with SqlUnitOfWork(engine, FixedClock(T0)) as uow:
        uow.audit.append(actor="ops", action="x.y", subject="s", payload={"n": 1})
        uow.commit()
    for statement in (
        update(audit_log).where(audit_log.c.seq == 1).values(actor="insider"),
        delete(audit_log).where(audit_log.c.seq == 1),
    ):
        with pytest.raises(DatabaseError, match="append-only"), engine.begin() as connection:
            connection.execute(statement)
    with SqlUnitOfWork(engine, FixedClock(T0)) as uow:
        assert verify_log(uow).checked == 1


def test_an_untouched_log_verifies(written: Engine) -> None:
    report = _verify(written)
    assert report.is_intact
    assert (report.checked, report.last_seq) == (ENTRIES, ENTRIES)


def test_a_flipped_byte_in_a_payload_is_reported_at_that_entry(written: Engine) -> None:
    with written.begin() as connection:
        payload = connection.execute(
            select(audit_log.c.payload).where(audit_log.c.seq == 4)
        ).scalar_one()
        text = bytearray(canonical_json(payload).encode())
        at = text.index(b"dana")
        text[at] ^= 0x20  # "dana" -> "Dana": one bit of one byte
        connection.execute(
            update(audit_log).where(audit_log.c.seq == 4).values(payload=json.loads(bytes(text)))
        )
    broken = _verify(written).first_break
    assert broken is not None
    assert (broken.position, broken.seq, broken.fault) == (3, 4, ChainFault.EDITED)


def test_a_deleted_entry_is_reported_at_the_gap(written: Engine) -> None:
    with written.begin() as connection:
        connection.execute(delete(audit_log).where(audit_log.c.seq == 4))
    broken = _verify(written).first_break
    assert broken is not None
    assert (broken.position, broken.seq, broken.fault) == (3, 5, ChainFault.DELETED)


def test_a_forged_entry_inserted_mid_chain_is_reported_at_its_position(written: Engine) -> None:
    with written.begin() as connection:
        before = connection.execute(
            select(audit_log.c.hash).where(audit_log.c.seq == 3)
        ).scalar_one()
    _move(written, {seq: seq + 1 for seq in range(4, ENTRIES + 1)})
    forged = AuditEntry.chained(
        seq=4,
        prev_hash=before,
        at=T0,
        actor="insider",
        action="exception.dismissed",
        subject="exception:EX-4",
        payload={"reason": "nothing to see"},
    )
    with written.begin() as connection:
        connection.execute(insert(audit_log).values(forged.model_dump(mode="python")))
    broken = _verify(written).first_break
    assert broken is not None
    assert (broken.position, broken.seq, broken.fault) == (3, 4, ChainFault.INSERTED)


def test_two_reordered_entries_are_reported_at_the_first_of_them(written: Engine) -> None:
    _move(written, {4: 7, 7: 4})
    broken = _verify(written).first_break
    assert broken is not None
    assert (broken.position, broken.seq, broken.fault) == (3, 4, ChainFault.BROKEN_LINK)
