"""Webhook ingress use cases on the in-memory unit of work: store, dedupe, quarantine, sweep."""

from __future__ import annotations

from datetime import timedelta

import pytest

from contractsync.adapters.ingress import DOCUSIGN, IRONCLAD, STANDARD, parse_webhook
from contractsync.domain.roles import OwnerRole
from contractsync.errors import DataError, TransientError
from contractsync.ports.storage import InboxMessage, InboxStatus
from contractsync.services.ingress import (
    REQUIRED_FIELD_MISSING,
    ParsedWebhook,
    accept_webhook,
    dispatch_waiting,
    purge_inbox,
    record_rejection,
    storable_headers,
)
from contractsync.testing.fakes import (
    FixedClock,
    InMemoryStore,
    InMemoryUnitOfWork,
    RecordingDispatcher,
)

HEADERS = {
    "Content-Type": "application/json",
    "webhook-id": "evt-1",
    "webhook-timestamp": "1767603600",
    "webhook-signature": "v1,c2lnbmF0dXJl",
    "Authorization": "Bearer abc",
    "X-DocuSign-Signature-1": "c2ln",
}


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore()


def _uow(store: InMemoryStore, clock: FixedClock) -> InMemoryUnitOfWork:
    return InMemoryUnitOfWork(store, clock)


def _parsed(event_id: str = "evt-1", **extra: object) -> ParsedWebhook:
    values: dict[str, object] = {
        "event_id": event_id,
        "event_type": "contract.approved",
        "payload": {"id": event_id, "type": "contract.approved"},
    }
    return ParsedWebhook(**(values | extra))  # type: ignore[arg-type]


def _accept(store: InMemoryStore, clock: FixedClock, parsed: ParsedWebhook, body: bytes = b"{}"):
    return accept_webhook(
        _uow(store, clock), clock, source="salesforce", parsed=parsed, headers=HEADERS, body=body
    )


def test_an_accepted_webhook_is_stored_received_with_its_raw_bytes_and_no_credentials(store, clock):
    acceptance = _accept(store, clock, _parsed(), body=b'{"id": "evt-1"}\r\n')

    assert acceptance.status == "accepted"
    stored = store.inbox[acceptance.message_id]
    assert stored.status is InboxStatus.RECEIVED
    assert stored.body == b'{"id": "evt-1"}\r\n'
    assert stored.received_at == clock.now()
    assert (stored.source, stored.event_id, stored.event_type) == (
        "salesforce",
        "evt-1",
        "contract.approved",
    )
    assert stored.headers == {
        "content-type": "application/json",
        "webhook-id": "evt-1",
        "webhook-timestamp": "1767603600",
    }
    assert acceptance.message == stored


def test_a_duplicate_event_id_is_acknowledged_as_duplicate_and_writes_nothing(store, clock):
    first = _accept(store, clock, _parsed())
    commits_before = len(store.inbox), list(store.audit), dict(store.exceptions)

    second = _accept(store, clock, _parsed(), body=b'{"resent": true}')

    assert second.status == "duplicate"
    assert second.message_id == first.message_id
    assert second.message is None
    assert (len(store.inbox), list(store.audit), dict(store.exceptions)) == commits_before
    assert store.inbox[first.message_id].body == b"{}"


def test_the_same_event_id_from_another_source_is_a_different_message(store, clock):
    _accept(store, clock, _parsed())
    other = accept_webhook(
        _uow(store, clock), clock, source="kantata", parsed=_parsed(), headers={}, body=b"{}"
    )
    assert other.status == "accepted"
    assert len(store.inbox) == 2


def test_a_missing_required_field_is_stored_failed_with_an_exception_item_for_the_admin(
    store, clock
):
    parsed = _parsed(missing_fields=("payload.workflowID",), unknown_fields=("payload.extra",))

    acceptance = _accept(store, clock, parsed)

    assert acceptance.status == "quarantined"
    assert acceptance.message is None
    stored = store.inbox[acceptance.message_id]
    assert stored.status is InboxStatus.FAILED
    assert stored.error == {
        "code": REQUIRED_FIELD_MISSING,
        "missing_fields": ["payload.workflowID"],
    }
    assert stored.unknown_fields == ("payload.extra",)
    [item] = [s.item for s in store.exceptions.values()]
    assert item.code == REQUIRED_FIELD_MISSING
    assert item.owner is OwnerRole.INTEGRATION_ADMIN
    assert item.evidence["inbox_message_id"] == acceptance.message_id
    assert item.evidence["missing_fields"] == ["payload.workflowID"]
    assert "payload.workflowID" in item.message
    assert [e.action for e in store.audit] == ["exception.raised"]


def test_unknown_fields_are_recorded_on_an_accepted_message(store, clock):
    acceptance = _accept(store, clock, _parsed(unknown_fields=("data_v2", "newattr")))
    assert store.inbox[acceptance.message_id].unknown_fields == ("data_v2", "newattr")
    assert acceptance.status == "accepted"


def test_a_rejection_writes_one_audit_entry_and_no_inbox_row(store, clock):
    record_rejection(
        _uow(store, clock),
        clock,
        source="ironclad",
        reason="webhook.signature_invalid",
        remote="203.0.113.9",
        detail={"scheme": "ironclad"},
    )

    assert store.inbox == {}
    assert store.exceptions == {}
    [entry] = store.audit
    assert (entry.actor, entry.action, entry.subject) == (
        "webhook:ironclad",
        "webhook.rejected",
        "webhook:ironclad",
    )
    assert entry.payload["reason"] == "webhook.signature_invalid"
    assert entry.payload["remote"] == "203.0.113.9"
    assert entry.payload["detail"] == {"scheme": "ironclad"}


def test_the_sweep_dispatches_only_messages_left_received_past_the_grace_period(store, clock):
    dispatcher = RecordingDispatcher()
    lost = _accept(store, clock, _parsed("lost"))
    dispatched = _accept(store, clock, _parsed("done"))
    with _uow(store, clock) as uow:
        uow.inbox.mark(
            dispatched.message_id,
            InboxStatus.DISPATCHED,
            only_from={InboxStatus.RECEIVED},
            workflow_id="w",
        )
        uow.commit()
    _accept(store, clock, _parsed("quarantined", missing_fields=("type",)))
    clock.advance(timedelta(minutes=1))
    _accept(store, clock, _parsed("in-flight"))  # its own request is still dispatching it

    report = dispatch_waiting(
        lambda: _uow(store, clock), dispatcher, clock, older_than=timedelta(seconds=30)
    )

    assert report.dispatched == (lost.message_id,)
    assert report.failed == ()
    assert dispatcher.calls == ["inbox:salesforce:lost"]
    swept = store.inbox[lost.message_id]
    assert (swept.status, swept.workflow_id) == (InboxStatus.DISPATCHED, "inbox:salesforce:lost")
    again = dispatch_waiting(
        lambda: _uow(store, clock), dispatcher, clock, older_than=timedelta(seconds=30)
    )
    assert again.dispatched == ()


class RefusingDispatcher:
    """A dispatcher whose engine is down."""

    def dispatch(self, message: InboxMessage) -> str:
        raise TransientError("engine down", code="engine.unavailable")


def test_a_sweep_whose_dispatch_fails_reports_it_and_leaves_the_message_waiting(store, clock):
    lost = _accept(store, clock, _parsed("lost"))
    clock.advance(timedelta(minutes=5))

    report = dispatch_waiting(
        lambda: _uow(store, clock), RefusingDispatcher(), clock, older_than=timedelta(seconds=30)
    )

    assert report.failed == ((lost.message_id, "TransientError"),)
    assert store.inbox[lost.message_id].status is InboxStatus.RECEIVED


def test_purge_keeps_at_least_fourteen_days_of_event_ids_whatever_it_is_asked(store, clock):
    old = _accept(store, clock, _parsed("old"))
    clock.advance(timedelta(days=10))
    recent = _accept(store, clock, _parsed("recent"))
    with _uow(store, clock) as uow:
        for acceptance in (old, recent):
            uow.inbox.mark(
                acceptance.message_id, InboxStatus.PROCESSED, only_from={InboxStatus.RECEIVED}
            )
        uow.commit()
    clock.advance(timedelta(days=4, minutes=1))  # old is 14 days + 1 min, recent 4 days

    assert purge_inbox(_uow(store, clock), clock, keep_days=1) == 1

    assert set(store.inbox) == {recent.message_id}
    assert store.audit[-1].payload == {"purged": 1, "keep_days": 14}
    assert _accept(store, clock, _parsed("recent")).status == "duplicate"


def test_purge_with_nothing_old_enough_deletes_and_audits_nothing(store, clock):
    _accept(store, clock, _parsed())
    assert purge_inbox(_uow(store, clock), clock, keep_days=30) == 0
    assert len(store.inbox) == 1
    assert store.audit == []


def test_stored_headers_drop_every_signature_and_credential():
    kept = storable_headers(
        {
            "X-Ironclad-Webhook-Verification": "{}",
            "X-Ironclad-Webhook-Event-Id": "e",
            "Cookie": "s=1",
            "X-Api-Key": "k",
            "User-Agent": "ua",
        }
    )
    assert kept == {"x-ironclad-webhook-event-id": "e", "user-agent": "ua"}


# --- parsing (pure) ---------------------------------------------------------------------------


def test_an_ironclad_body_takes_its_id_from_the_verified_header_and_reports_drift():
    body = (
        b'{"companyID":"c1","payload":{"event":"workflow_completed","workflowID":"w1",'
        b'"brandNew":1},"timestamp":"2026-01-05T09:00:00Z","webhookID":"h1","extra":{"a":1}}'
    )
    parsed = parse_webhook(IRONCLAD, body, verified_id="evt-9")
    assert (parsed.event_id, parsed.event_type) == ("evt-9", "workflow_completed")
    assert parsed.unknown_fields == ("extra", "payload.brandNew")
    assert parsed.missing_fields == ()


def test_a_docusign_body_missing_its_account_is_reported_not_refused():
    body = b'{"event":"envelope-completed","data":{"envelopeId":"env-1","envelopeSummary":{"x":1}}}'
    parsed = parse_webhook(DOCUSIGN, body, verified_id="env-1:envelope-completed")
    assert parsed.missing_fields == ("data.accountId",)
    assert parsed.unknown_fields == ()  # envelopeSummary is opaque


def test_a_standard_body_without_a_type_is_quarantinable_with_an_unknown_type():
    parsed = parse_webhook(STANDARD, b'{"id":"e1","type":""}', verified_id="e1")
    assert parsed.event_type == "unknown"
    assert parsed.missing_fields == ("type",)


@pytest.mark.parametrize(
    ("body", "code", "words"),
    [
        (b'{"id": "e1",', "webhook.body_malformed", "line 1 column 13"),
        (b'{"id": "\xff"}', "webhook.body_malformed", "position 8"),
        (b'{"id": "a", "id": "b"}', "webhook.body_malformed", "repeats the key 'id'"),
        (b'{"n": NaN}', "webhook.body_malformed", "NaN"),
        (b"[1, 2]", "webhook.body_not_object", "an array"),
        (b'"text"', "webhook.body_not_object", "a string"),
    ],
)
def test_a_body_that_is_not_one_strict_json_object_is_refused_naming_the_problem(body, code, words):
    with pytest.raises(DataError) as caught:
        parse_webhook(STANDARD, body, verified_id="e1")
    assert caught.value.code == code
    assert words in caught.value.message


def test_an_event_id_longer_than_the_inbox_keeps_is_refused():
    with pytest.raises(DataError, match="1 to 255"):
        parse_webhook(STANDARD, b'{"id":"x","type":"t"}', verified_id="x" * 256)
