"""The storage contract: one test suite every UnitOfWork adapter must pass (fake, SQLite, PG).

Subclass :class:`StorageContract` in a test module and provide a ``storage`` fixture that
returns a :class:`StorageUnderTest` over a fresh, empty store.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from contractsync.domain.events import BusinessEvent, EventType
from contractsync.domain.exception_item import ExceptionItem, ExceptionStatus
from contractsync.domain.identity import ExternalRef
from contractsync.domain.roles import OwnerRole
from contractsync.errors import ConflictError
from contractsync.ports.storage import GENESIS_HASH, InboxMessage, InboxStatus, UnitOfWork
from contractsync.testing.fakes import FixedClock

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@dataclass
class StorageUnderTest:
    """What a backend hands the contract: fresh units over one store, and their clock."""

    new_unit: Callable[[], UnitOfWork]
    clock: FixedClock


def message(event_id: str = "evt-1", *, source: str = "ironclad", **extra: object) -> InboxMessage:
    """An inbound message with a fresh id (test data)."""
    values: dict[str, object] = {
        "id": str(uuid.uuid4()),
        "source": source,
        "event_id": event_id,
        "event_type": "workflow.completed",
        "received_at": T0,
        "headers": {"content-type": "application/json"},
        "body": b'{"id": "evt-1", "payload": "\xc3\xa9"}',
    }
    return InboxMessage.model_validate(values | extra)


def item(item_id: str = "EX-1", **extra: object) -> ExceptionItem:
    """An open exception item (test data)."""
    values: dict[str, object] = {
        "id": item_id,
        "code": "milestones.sum_mismatch",
        "message": "Milestones add up to 9,000.00 USD, the line is 10,000.00 USD",
        "owner": OwnerRole.FINANCE,
        "money_at_risk": {"amount": "1000.00", "currency": "USD"},
        "sla_due": T0 + timedelta(days=3),
        "contract_id": "C-100",
        "remediation": "Correct the milestone amounts in the CLM, then retry.",
        "evidence": {"inbox_message_id": "m-1"},
        "created_at": T0,
    }
    return ExceptionItem.model_validate(values | extra)


def event(event_id: str = "ev-1") -> BusinessEvent:
    """A business event (test data)."""
    return BusinessEvent(
        id=event_id,
        type=EventType.CONTRACT_APPROVED,
        subject="contract:C-100",
        correlation_id="C-100",
        occurred_at=T0,
        data={"amount": "10000.00", "lines": ["L1"]},
    )


def run_in_threads(count: int, work: Callable[[int], None]) -> None:
    """Run ``work(i)`` in ``count`` threads released together; re-raise the first failure."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def body(index: int) -> None:
        try:
            barrier.wait()
            work(index)
        except BaseException as exc:  # noqa: BLE001 - handed back to the test thread
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


class StorageContract:
    """The behaviour every storage adapter shares; subclasses supply the ``storage`` fixture."""

    def test_a_committed_unit_is_visible_to_the_next_and_an_uncommitted_one_is_not(
        self, storage: StorageUnderTest
    ) -> None:
        """Leaving the block without commit rolls back."""
        with storage.new_unit() as uow:
            uow.inbox.add(message("kept"))
            uow.commit()
            uow.inbox.add(message("dropped"))
        with storage.new_unit() as uow:
            assert uow.inbox.find("ironclad", "kept") is not None
            assert uow.inbox.find("ironclad", "dropped") is None

    def test_the_inbox_stores_a_source_event_once_and_keeps_its_bytes(
        self, storage: StorageUnderTest
    ) -> None:
        """A duplicate (source, event_id) is refused; another source may reuse the id."""
        first = message("evt-9", unknown_fields=("extra",))
        with storage.new_unit() as uow:
            assert uow.inbox.add(first) is True
            assert uow.inbox.add(message("evt-9")) is False
            assert uow.inbox.add(message("evt-9", source="docusign")) is True
            uow.commit()
        with storage.new_unit() as uow:
            assert uow.inbox.get(first.id) == first
            assert uow.inbox.find("ironclad", "evt-9") == first

    def test_the_inbox_marks_lists_waiting_and_purges_only_processed_messages(
        self, storage: StorageUnderTest
    ) -> None:
        """Waiting is RECEIVED and older than the cut-off; purge spares unfinished work."""
        old, new, done = (
            message("old"),
            message("new", received_at=T0 + timedelta(hours=1)),
            message("done", received_at=T0 - timedelta(days=20)),
        )
        with storage.new_unit() as uow:
            for each in (old, new, done):
                uow.inbox.add(each)
            assert uow.inbox.mark(
                done.id, InboxStatus.PROCESSED, only_from={InboxStatus.RECEIVED}, workflow_id="wf"
            )
            uow.commit()
        with storage.new_unit() as uow:
            cut = T0 + timedelta(minutes=1)
            assert [m.id for m in uow.inbox.waiting(received_before=cut, limit=10)] == [old.id]
            assert uow.inbox.purge(received_before=T0 - timedelta(days=14)) == 1
            uow.inbox.mark(
                old.id,
                InboxStatus.FAILED,
                only_from={InboxStatus.RECEIVED},
                error={"code": "data.invalid"},
            )
            uow.commit()
        with storage.new_unit() as uow:
            assert uow.inbox.get(done.id) is None
            failed = uow.inbox.get(old.id)
            assert failed is not None
            assert failed.status is InboxStatus.FAILED
            assert failed.error == {"code": "data.invalid"}

    def test_an_inbox_mark_moves_only_from_the_given_statuses_and_never_backwards(
        self, storage: StorageUnderTest
    ) -> None:
        """A DISPATCHED mark arriving after the workflow's PROCESSED one changes nothing."""
        done = message("raced-mark")
        with storage.new_unit() as uow:
            uow.inbox.add(done)
            processed = uow.inbox.mark(
                done.id,
                InboxStatus.PROCESSED,
                only_from={InboxStatus.RECEIVED, InboxStatus.DISPATCHED},
                workflow_id="inbox:ironclad:raced-mark",
            )
            late = uow.inbox.mark(
                done.id, InboxStatus.DISPATCHED, only_from={InboxStatus.RECEIVED}, workflow_id="x"
            )
            missing = uow.inbox.mark(
                "no-such-id", InboxStatus.PROCESSED, only_from=set(InboxStatus)
            )
            uow.commit()
        with storage.new_unit() as uow:
            stored = uow.inbox.get(done.id)
        assert (processed, late, missing) == (True, False, False)
        assert stored is not None
        assert (stored.status, stored.workflow_id) == (
            InboxStatus.PROCESSED,
            "inbox:ironclad:raced-mark",
        )

    def test_concurrent_conditional_marks_of_one_message_move_it_exactly_once(
        self, storage: StorageUnderTest
    ) -> None:
        """Eight threads claim FAILED -> DISPATCHED at once: one wins (a replay claim)."""
        failed = message("claimed", status=InboxStatus.FAILED)
        with storage.new_unit() as uow:
            uow.inbox.add(failed)
            uow.commit()
        outcomes: list[bool] = []

        def claim(_: int) -> None:
            with storage.new_unit() as uow:
                outcomes.append(
                    uow.inbox.mark(
                        failed.id, InboxStatus.DISPATCHED, only_from={InboxStatus.FAILED}
                    )
                )
                uow.commit()

        run_in_threads(8, claim)
        assert sorted(outcomes) == [False] * 7 + [True]

    def test_inbox_matching_filters_by_source_status_and_a_half_open_time_range(
        self, storage: StorageUnderTest
    ) -> None:
        """``received_from`` is inclusive, ``received_until`` exclusive, oldest first."""
        hour = timedelta(hours=1)
        stored = [
            message("m0", status=InboxStatus.FAILED),
            message("m1", status=InboxStatus.FAILED, received_at=T0 + hour),
            message("m2", status=InboxStatus.PROCESSED, received_at=T0 + hour),
            message("m3", status=InboxStatus.FAILED, received_at=T0 + 2 * hour),
            message("m4", source="docusign", status=InboxStatus.FAILED, received_at=T0 + hour),
        ]
        with storage.new_unit() as uow:
            for each in reversed(stored):
                uow.inbox.add(each)
            uow.commit()
        with storage.new_unit() as uow:
            window = uow.inbox.matching(
                source="ironclad",
                statuses={InboxStatus.FAILED},
                received_from=T0 + hour,
                received_until=T0 + 2 * hour,
            )
            every_failed = uow.inbox.matching(statuses={InboxStatus.FAILED}, limit=3)
            everything = uow.inbox.matching()
        assert [m.event_id for m in window] == ["m1"]
        assert [m.event_id for m in every_failed][:1] == ["m0"]
        assert len(every_failed) == 3
        assert len(everything) == 5

    def test_concurrent_adds_of_one_source_event_store_exactly_one_message(
        self, storage: StorageUnderTest
    ) -> None:
        """Eight threads race the same (source, event_id); one wins, seven see a duplicate."""
        outcomes: list[bool] = []

        def add(_: int) -> None:
            with storage.new_unit() as uow:
                outcomes.append(uow.inbox.add(message("raced")))
                uow.commit()

        run_in_threads(8, add)
        assert sorted(outcomes) == [False] * 7 + [True]
        with storage.new_unit() as uow:
            assert uow.inbox.find("ironclad", "raced") is not None

    def test_the_outbox_ignores_a_repeated_event_and_relays_in_order(
        self, storage: StorageUnderTest
    ) -> None:
        """Pending is oldest first; published entries leave it; failures are counted."""
        with storage.new_unit() as uow:
            for event_id in ("ev-1", "ev-2", "ev-1", "ev-3"):
                uow.outbox.add(event(event_id))
            uow.commit()
        with storage.new_unit() as uow:
            pending = uow.outbox.pending(limit=10)
            assert [e.event.id for e in pending] == ["ev-1", "ev-2", "ev-3"]
            assert pending[0].event == event("ev-1")
            uow.outbox.mark_published([pending[0].seq], at=T0)
            uow.outbox.record_failure(pending[1].seq, "bus down")
            uow.commit()
        with storage.new_unit() as uow:
            left = uow.outbox.pending(limit=10)
            assert [(e.event.id, e.attempts) for e in left] == [("ev-2", 1), ("ev-3", 0)]

    def test_an_exception_item_round_trips_and_a_dedupe_key_returns_the_open_item(
        self, storage: StorageUnderTest
    ) -> None:
        """The same problem raised twice is one item until that item is closed."""
        with storage.new_unit() as uow:
            first = uow.exceptions.add(item("EX-1"), dedupe_key="C-100:milestones")
            again = uow.exceptions.add(item("EX-2"), dedupe_key="C-100:milestones")
            assert first == item("EX-1")
            assert again == first
            uow.commit()
        with storage.new_unit() as uow:
            stored = uow.exceptions.get("EX-1")
            assert stored == item("EX-1")
            closed = stored.resolve(actor="dana", at=T0, note="fixed")
            uow.exceptions.save(closed, expected=stored)
            reraised = uow.exceptions.add(item("EX-3"), dedupe_key="C-100:milestones")
            assert reraised.id == "EX-3"
            uow.commit()

    def test_saving_over_a_changed_exception_item_raises_conflict(
        self, storage: StorageUnderTest
    ) -> None:
        """Two operators read the item; the second save is refused."""
        with storage.new_unit() as uow:
            uow.exceptions.add(item())
            uow.commit()
        with storage.new_unit() as uow:
            seen = uow.exceptions.get("EX-1")
            uow.commit()
        assert seen is not None
        with storage.new_unit() as uow:
            uow.exceptions.save(seen.assign("dana", actor="ops", at=T0), expected=seen)
            uow.commit()
        with storage.new_unit() as uow, pytest.raises(ConflictError):
            uow.exceptions.save(seen.resolve(actor="sam", at=T0, note="done"), expected=seen)
        with storage.new_unit() as uow:
            current = uow.exceptions.get("EX-1")
            assert current is not None
            assert current.status is ExceptionStatus.ASSIGNED

    def test_two_concurrent_resolves_of_one_item_let_exactly_one_win(
        self, storage: StorageUnderTest
    ) -> None:
        """Both saw the open item; one resolve commits, the other gets ConflictError."""
        with storage.new_unit() as uow:
            uow.exceptions.add(item())
            uow.commit()
        with storage.new_unit() as uow:
            seen = uow.exceptions.get("EX-1")
            uow.commit()
        assert seen is not None
        outcomes: list[str] = []

        def resolve(index: int) -> None:
            with storage.new_unit() as uow:
                done = seen.resolve(actor=f"operator-{index}", at=T0, note="fixed")
                try:
                    uow.exceptions.save(done, expected=seen)
                    uow.commit()
                    outcomes.append("won")
                except ConflictError:
                    outcomes.append("conflict")

        run_in_threads(2, resolve)
        assert sorted(outcomes) == ["conflict", "won"]

    def test_exception_items_are_filtered_and_paged_by_creation_then_id(
        self, storage: StorageUnderTest
    ) -> None:
        """Filters combine; ``after`` continues where the last page stopped."""
        with storage.new_unit() as uow:
            uow.exceptions.add(item("EX-3", created_at=T0 + timedelta(minutes=1)))
            uow.exceptions.add(item("EX-2"))
            uow.exceptions.add(item("EX-1", owner=OwnerRole.LEGAL, contract_id="C-200"))
            uow.commit()
        with storage.new_unit() as uow:
            everything = [i.id for i in uow.exceptions.list()]
            assert everything == ["EX-1", "EX-2", "EX-3"]
            assert [i.id for i in uow.exceptions.list(limit=2, after="EX-1")] == ["EX-2", "EX-3"]
            finance = uow.exceptions.list(owner=OwnerRole.FINANCE, status=[ExceptionStatus.OPEN])
            assert [i.id for i in finance] == ["EX-2", "EX-3"]
            assert [i.id for i in uow.exceptions.list(contract_id="C-200")] == ["EX-1"]
            assert uow.exceptions.list(status=[ExceptionStatus.RESOLVED]) == []

    def test_audit_entries_form_one_chain_from_the_genesis_hash(
        self, storage: StorageUnderTest
    ) -> None:
        """Each entry links to the previous hash; payloads are stored as plain JSON."""
        with storage.new_unit() as uow:
            first = uow.audit.append(
                actor="ops",
                action="exception.assigned",
                subject="exception:EX-1",
                payload={"amount": Decimal("10.50"), "at": T0, "to": "dana"},
            )
            uow.audit.append(actor="ops", action="x.y", subject="s", payload={})
            uow.commit()
        with storage.new_unit() as uow:
            entries = uow.audit.entries()
        assert [e.seq for e in entries] == [1, 2]
        assert entries[0] == first
        assert entries[0].prev_hash == GENESIS_HASH
        assert entries[1].prev_hash == entries[0].hash
        assert all(e.hash == e.expected_hash() for e in entries)
        assert entries[0].payload == {"amount": "10.50", "at": "2026-03-02T09:30:00Z", "to": "dana"}
        with storage.new_unit() as uow:
            assert [e.seq for e in uow.audit.entries(after_seq=1, limit=5)] == [2]

    def test_a_rolled_back_audit_append_leaves_no_gap(self, storage: StorageUnderTest) -> None:
        """Sequence numbers stay dense, so a gap always means a deleted entry."""
        with storage.new_unit() as uow:
            uow.audit.append(actor="a", action="x.y", subject="s", payload={"n": 1})
            uow.commit()
            uow.audit.append(actor="a", action="x.y", subject="s", payload={"n": 2})
            uow.rollback()
            uow.audit.append(actor="a", action="x.y", subject="s", payload={"n": 3})
            uow.commit()
        with storage.new_unit() as uow:
            assert [(e.seq, e.payload["n"]) for e in uow.audit.entries()] == [(1, 1), (2, 3)]

    def test_concurrent_audit_appends_keep_one_unbroken_chain(
        self, storage: StorageUnderTest
    ) -> None:
        """Six threads append 10 entries each, one unit per entry: no fork, no gap."""

        def append(index: int) -> None:
            for n in range(10):
                with storage.new_unit() as uow:
                    uow.audit.append(actor=f"t{index}", action="x.y", subject="s", payload={"n": n})
                    uow.commit()

        run_in_threads(6, append)
        with storage.new_unit() as uow:
            entries = uow.audit.entries()
        assert [e.seq for e in entries] == list(range(1, 61))
        links = zip([GENESIS_HASH, *(e.hash for e in entries)], entries, strict=False)
        assert all(entry.prev_hash == prev for prev, entry in links)

    def test_records_keep_every_version_and_refuse_a_gap(self, storage: StorageUnderTest) -> None:
        """Versions go 1, 2, 3 ...; a skipped or repeated version is a conflict."""
        with storage.new_unit() as uow:
            uow.records.put("contract", "C-1", {"v": 1}, version=1, cause="inbox:m-1")
            uow.records.put("contract", "C-1", {"v": 2}, version=2, cause="inbox:m-2")
            with pytest.raises(ConflictError):
                uow.records.put("contract", "C-1", {"v": 4}, version=4, cause="inbox:m-4")
            with pytest.raises(ConflictError):
                uow.records.put("contract", "C-1", {"v": 2}, version=2, cause="inbox:m-2")
            uow.commit()
        with storage.new_unit() as uow:
            assert uow.records.get("contract", "C-1") == {"v": 2}
            assert uow.records.versions("contract", "C-1") == [{"v": 1}, {"v": 2}]
            assert uow.records.get("contract", "C-2") is None
            with pytest.raises(ConflictError):
                uow.records.put("contract", "C-2", {"v": 2}, version=2, cause="inbox:m-9")

    def test_an_external_ref_links_once_and_refuses_a_second_record(
        self, storage: StorageUnderTest
    ) -> None:
        """Linking again is a no-op; another record, or another id, is a conflict."""
        party = ExternalRef(system="tryton", kind="party", id="42")
        account = ExternalRef(system="salesforce", kind="Account", id="001A")
        with storage.new_unit() as uow:
            uow.refs.link(party, record_kind="customer", record_id="CUST-1")
            uow.refs.link(party, record_kind="customer", record_id="CUST-1")
            uow.refs.link(account, record_kind="customer", record_id="CUST-1")
            with pytest.raises(ConflictError):
                uow.refs.link(party, record_kind="customer", record_id="CUST-2")
            other = ExternalRef(system="tryton", kind="party", id="43")
            with pytest.raises(ConflictError):
                uow.refs.link(other, record_kind="customer", record_id="CUST-1")
            uow.commit()
        with storage.new_unit() as uow:
            assert uow.refs.resolve(party) == ("customer", "CUST-1")
            assert uow.refs.refs_of("customer", "CUST-1") == [account, party]
            assert uow.refs.resolve(ExternalRef(system="tryton", kind="party", id="7")) is None

    def test_a_poll_cursor_is_none_until_stored_and_commits_or_rolls_back_with_its_unit(
        self, storage: StorageUnderTest
    ) -> None:
        """The cursor is part of the transaction, like the events stored with it."""
        with storage.new_unit() as uow:
            assert uow.cursors.get("kantata") is None
            assert uow.cursors.advance("kantata", "page-2", expected=None)
            uow.commit()
            assert uow.cursors.advance("kantata", "page-3", expected="page-2")
        with storage.new_unit() as uow:
            assert uow.cursors.get("kantata") == "page-2"
            assert uow.cursors.get("netsuite") is None
            uow.cursors.put("kantata", "page-1")
            uow.cursors.put("netsuite", "2026-03-02T09:30:00Z")
            uow.commit()
        with storage.new_unit() as uow:
            assert uow.cursors.get("kantata") == "page-1"
            assert uow.cursors.get("netsuite") == "2026-03-02T09:30:00Z"

    def test_advancing_a_poll_cursor_from_a_stale_value_stores_nothing(
        self, storage: StorageUnderTest
    ) -> None:
        """A compare-and-set: the expected cursor must be the stored one (None: no row yet)."""
        with storage.new_unit() as uow:
            assert uow.cursors.advance("kantata", "c1", expected=None)
            assert not uow.cursors.advance("kantata", "c9", expected=None)
            assert not uow.cursors.advance("kantata", "c9", expected="c0")
            assert not uow.cursors.advance("netsuite", "c9", expected="c0")
            assert uow.cursors.advance("kantata", "c2", expected="c1")
            uow.commit()
        with storage.new_unit() as uow:
            assert uow.cursors.get("kantata") == "c2"
            assert uow.cursors.get("netsuite") is None

    def test_two_concurrent_advances_from_one_cursor_let_exactly_one_win(
        self, storage: StorageUnderTest
    ) -> None:
        """Two pollers that read the same cursor: one advances, the other finds it changed."""
        for start in (None, "c1"):
            source = f"feed-{start}"
            if start is not None:
                with storage.new_unit() as uow:
                    uow.cursors.put(source, start)
                    uow.commit()
            won: dict[int, bool] = {}

            def advance(
                index: int,
                source: str = source,
                start: str | None = start,
                won: dict[int, bool] = won,
            ) -> None:
                with storage.new_unit() as uow:
                    won[index] = uow.cursors.advance(source, f"next-{index}", expected=start)
                    uow.commit()

            run_in_threads(2, advance)
            assert sorted(won.values()) == [False, True]
            winner = next(index for index, has_won in won.items() if has_won)
            with storage.new_unit() as uow:
                assert uow.cursors.get(source) == f"next-{winner}"
