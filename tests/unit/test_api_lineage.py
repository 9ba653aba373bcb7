"""GET /contracts/{id}/lineage: every system's refs and what touched the contract, in order."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from contractsync.domain.events import BusinessEvent, EventType
from contractsync.domain.identity import ExternalRef
from contractsync.ports.storage import InboxMessage, InboxStatus
from contractsync.testing.fakes import InMemoryUnitOfWork
from tests.e2e.process_seed import ProcessHub, build_process_hub


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ProcessHub]:
    yield from build_process_hub(monkeypatch, tmp_path)


def amend(hub: ProcessHub, contract: str) -> None:
    """An amendment message arrives, writes version 2 and is announced, in that order."""
    hub.clock.advance(timedelta(hours=1))
    with InMemoryUnitOfWork(hub.store, hub.clock) as uow:
        uow.inbox.add(
            InboxMessage(
                id="msg-amend",
                source="ironclad",
                event_id="wf-amend",
                event_type="workflow_completed",
                received_at=hub.clock.now(),
                body=b"{}",
                status=InboxStatus.PROCESSED,
            )
        )
        hub.clock.advance(timedelta(seconds=2))
        document = uow.records.get("contract", contract)
        assert document is not None
        uow.records.put(
            "contract", contract, {**document, "version": 2}, version=2, cause="inbox:msg-amend"
        )
        hub.clock.advance(timedelta(seconds=2))
        uow.refs.link(
            ExternalRef(system="tryton", kind="contract", id="T-9"),
            record_kind="contract",
            record_id=contract,
        )
        uow.outbox.add(
            BusinessEvent(
                id=f"amendment.applied:{contract}:2",
                type=EventType.AMENDMENT_APPLIED,
                subject=f"contract:{contract}",
                correlation_id=contract,
                occurred_at=hub.clock.now(),
            )
        )
        uow.commit()


def test_lineage_names_every_systems_ref_for_the_contract_its_customer_and_projects(hub):
    contract = hub.seeded.contracts[0]

    lineage = hub.get(f"/api/v1/contracts/{contract}/lineage").json()

    assert lineage["correlation_id"] == contract
    assert lineage["project_ids"] == [f"P-{contract}"]
    refs = {(r["record_kind"], r["system"], r["kind"]) for r in lineage["refs"]}
    assert refs == {
        ("contract", "ironclad", "workflow"),
        ("customer", "salesforce", "Account"),
        ("project", "tryton", "project.work"),
    }


def test_lineage_lists_what_touched_the_contract_oldest_first(hub):
    contract = hub.seeded.contracts[0]
    amend(hub, contract)

    items = hub.get(f"/api/v1/contracts/{contract}/lineage", limit=200).json()["items"]

    stamps = [item["at"] for item in items]
    assert stamps == sorted(stamps)
    kinds = [(item["kind"], item["id"]) for item in items]
    tail = [
        k
        for k in kinds
        if k[1]
        in {"msg-amend", f"{contract}@2", "tryton:contract:T-9", f"amendment.applied:{contract}:2"}
    ]
    assert tail == [
        ("inbox_message", "msg-amend"),
        ("version", f"{contract}@2"),
        ("ref_linked", "tryton:contract:T-9"),
        ("event", f"amendment.applied:{contract}:2"),
    ]
    assert kinds[0] == ("inbox_message", "msg-0")
    assert {"exception", "event", "version", "ref_linked", "inbox_message"} <= {k for k, _ in kinds}
    others = hub.seeded.contracts[1:]
    assert not [item for item in items if any(o in item["summary"] for o in others)]


def test_lineage_pages_keep_the_order_and_the_unknown_contract_is_404(hub):
    contract = hub.seeded.contracts[0]
    everything = hub.get(f"/api/v1/contracts/{contract}/lineage", limit=200).json()["items"]
    walked, cursor = [], None
    while True:
        body = hub.get(
            f"/api/v1/contracts/{contract}/lineage",
            limit=2,
            **({"cursor": cursor} if cursor else {}),
        ).json()
        walked += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            break

    assert walked == everything
    assert hub.get("/api/v1/contracts/NOPE/lineage").status_code == 404
