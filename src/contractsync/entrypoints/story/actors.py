"""The people of the story and what they can reach.

The vendors' UIs are the simulators' operator APIs over HTTP; the hub is reached through its
process API (finance's and the admin's API keys) and, for waiting, read in its store.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx

from contractsync.adapters.salesforce.mapping import account_from_customer
from contractsync.adapters.salesforce.payloads import FieldNames
from contractsync.adapters.tryton.mapping import record_key
from contractsync.domain.contract import Contract
from contractsync.domain.customer import Customer
from contractsync.domain.exception_item import ExceptionItem
from contractsync.entrypoints.story.stack import DemoStack
from contractsync.errors import ContractSyncError
from contractsync.ports.storage import InboxStatus


class StoryError(ContractSyncError):
    """The story could not go on: a step the hub should have taken did not happen in time."""

    default_code = "demo.stalled"


class Vendors:
    """The vendors' people, each through their simulator's operator API.

    Sales works in Salesforce, legal in Ironclad, signers in DocuSign, delivery in Kantata.
    """

    def __init__(self, urls: dict[str, str]) -> None:
        # A fresh connection per call: an operator call is not safe to resend, and a kept
        # connection can be closed by the server just as the next call goes out.
        self._http = {name: _client(url) for name, url in urls.items()}

    def close(self) -> None:
        """Close the HTTP clients."""
        for client in self._http.values():
            client.close()

    def scenario(self, vendor: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        """Run one operator scenario; return its answer."""
        answer = self._http[vendor].post(f"/_sim/scenarios/{name}", json=body)
        if answer.status_code != 200:
            raise StoryError(
                f"{vendor} refused {name}: {answer.status_code} {answer.text[:300]}",
                remediation="This is a bug in the demo story; please report it with this message.",
            )
        result: dict[str, Any] = answer.json()
        return result

    def faults(self, vendor: str, changes: dict[str, Any]) -> None:
        """Change the vendor's fault plan (rates of 429s, 5xx, duplicate webhooks ...)."""
        self._http[vendor].patch("/_sim/faults", json=changes).raise_for_status()

    def state(self, vendor: str) -> dict[str, Any]:
        """The vendor's whole state, as its operator API reports it."""
        result: dict[str, Any] = self._http[vendor].get("/_sim/state").json()
        return result

    def stats(self, vendor: str) -> dict[str, Any]:
        """Requests seen and faults injected."""
        result: dict[str, Any] = self._http[vendor].get("/_sim/stats").json()
        return result

    def webhook_log(self, vendor: str) -> list[dict[str, Any]]:
        """Every webhook delivery attempt the vendor made."""
        log: list[dict[str, Any]] = self._http[vendor].get("/_sim/webhooks").json()["log"]
        return log

    # -- what people do --------------------------------------------------------------------

    def create_account(self, customer: Customer) -> None:
        """Sales creates the customer's account in Salesforce."""
        names = FieldNames()
        record = account_from_customer(customer)
        fields = record.to_sobject(names) | {names.external_id: record.external_id}
        fields = {name: value for name, value in fields.items() if value is not None}
        self.scenario("salesforce", "create_record", {"sobject": "Account", "fields": fields})

    def win(self, customer: Customer, contract: Contract) -> None:
        """Sales closes the opportunity as won."""
        body = {
            "account_external_id": customer.id,
            "contract_id": contract.id,
            "name": contract.title,
            "amount": float(contract.lines[0].billing.amount.amount),  # type: ignore[union-attr]
            "currency": contract.currency,
        }
        self.scenario("salesforce", "close_won_opportunity", body)

    def launch(self, contract: Contract, customer: Customer) -> str:
        """Legal launches the SOW's workflow in Ironclad; return its workflow id."""
        body = {"customer": customer.model_dump(mode="json"), "contract": _document(contract)}
        return str(self.scenario("ironclad", "launch_workflow", body)["id"])

    def approve(self, workflow: str) -> None:
        """Every approver approves the workflow."""
        self.scenario("ironclad", "approve_workflow", {"workflow_id": workflow})

    def amend(self, workflow: str, contract: Contract, customer: Customer) -> None:
        """A new version of the SOW in its workflow, approved."""
        body = {
            "workflow_id": workflow,
            "customer": customer.model_dump(mode="json"),
            "contract": _document(contract),
        }
        self.scenario("ironclad", "amend_workflow", body)

    def sign(self, contract_id: str) -> str:
        """The customer signs the SOW's DocuSign envelope; return the envelope id."""
        envelope = self.scenario("docusign", "create_envelope", {"contract_id": contract_id})
        self.scenario("docusign", "complete_envelope", {"envelope_id": envelope["envelope_id"]})
        return str(envelope["envelope_id"])

    def complete(self, story_id: str) -> None:
        """Delivery marks a milestone story completed in Kantata."""
        self.scenario("kantata", "complete_milestone", {"story_id": story_id})


class HubApi:
    """The hub's process API, called with the finance and admin keys as those people would."""

    def __init__(self, url: str, *, admin_key: str, finance_key: str) -> None:
        self.url = url
        self._admin = _client(url, _bearer(admin_key))
        self._finance = _client(url, _bearer(finance_key))

    def close(self) -> None:
        """Close the HTTP clients."""
        self._admin.close()
        self._finance.close()

    def open_items(self, contract_id: str) -> list[dict[str, Any]]:
        """The contract's open exception items, as the finance queue shows them."""
        query = {"contract_id": contract_id, "status": ["open", "assigned"]}
        answer = self._finance.get("/api/v1/exceptions", params=query)
        answer.raise_for_status()
        items: list[dict[str, Any]] = answer.json()["items"]
        return items

    def decide(self, item_id: str, *, approve: bool, note: str) -> None:
        """Resolve (approve) or dismiss (reject) an item: GET for its ETag, then act with If-Match."""
        item = self._finance.get(f"/api/v1/exceptions/{item_id}")
        item.raise_for_status()
        action, body = ("resolve", {"note": note}) if approve else ("dismiss", {"reason": note})
        headers = {"If-Match": item.headers["ETag"], "Idempotency-Key": str(uuid.uuid4())}
        answer = self._finance.post(
            f"/api/v1/exceptions/{item_id}:{action}", json=body, headers=headers
        )
        if answer.status_code != 200:
            raise StoryError(
                f"the hub refused to {action} {item_id}: {answer.status_code} {answer.text[:300]}",
                remediation="Look at the item with `contractsync exceptions show`.",
            )


class HubStore:
    """Read-only looks at the hub's store, for waiting until a step has happened."""

    def __init__(self, stack: DemoStack) -> None:
        assert stack.container is not None
        self._uow = stack.container.uow_factory

    def record(self, kind: str, record_id: str) -> dict[str, Any] | None:
        """The current canonical document, or None."""
        with self._uow() as uow:
            return uow.records.get(kind, record_id)

    def events(self, contract_id: str) -> list[str]:
        """The types of every event about a contract, oldest first."""
        with self._uow() as uow:
            entries = uow.views.events(correlation_id=contract_id, limit=1000)
        return [e.event.type.value for e in reversed(entries)]

    def items(self, contract_id: str) -> list[ExceptionItem]:
        """Every exception item of the contract."""
        with self._uow() as uow:
            return list(uow.exceptions.list(contract_id=contract_id, limit=1000))

    def all_items(self) -> list[ExceptionItem]:
        """Every exception item."""
        with self._uow() as uow:
            return list(uow.exceptions.list(limit=10_000))

    def busy_messages(self) -> int:
        """Inbound messages not yet processed or failed."""
        with self._uow() as uow:
            busy = uow.inbox.matching(statuses=(InboxStatus.RECEIVED, InboxStatus.DISPATCHED))
        return len(busy)

    def messages(self, source: str) -> int:
        """Inbound messages stored from ``source`` (each event once, whatever was redelivered)."""
        with self._uow() as uow:
            return len(uow.inbox.matching(source=source, limit=100_000))


def wait_for(check: Callable[[], Any], what: str, *, timeout: float = 180.0) -> Any:
    """Poll ``check`` until it returns something truthy and return that.

    Raises:
        StoryError: ``timeout`` seconds passed first.
    """
    deadline = time.monotonic() + timeout
    while not (found := check()):
        if time.monotonic() > deadline:
            raise StoryError(
                f"waited {timeout:.0f} s for {what}",
                remediation="Run with --keep-running and look at `contractsync exceptions list` "
                "and the hub log; the story's settings are in the work folder.",
            )
        time.sleep(0.2)
    return found


def tryton_task(stack: DemoStack, contract_id: str, milestone_id: str) -> tuple[int, float]:
    """The Tryton task of a milestone: its id and list price."""
    client = stack.tryton_client()
    try:
        (project,) = client.search_read(
            "project.work",
            [("type", "=", "project"), ("comment", "=", record_key("project", contract_id))],
            ["id"],
        )
        (task,) = client.search_read(
            "project.work",
            [("parent", "=", project["id"]), ("comment", "=", record_key("task", milestone_id))],
            ["id", "list_price"],
        )
    finally:
        client.close()
    return int(task["id"]), float(task["list_price"])


def _client(url: str, headers: dict[str, str] | None = None) -> httpx.Client:
    limits = httpx.Limits(max_keepalive_connections=0)
    return httpx.Client(base_url=url, timeout=30.0, headers=headers, limits=limits)


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _document(contract: Contract) -> dict[str, Any]:
    document = contract.model_dump(mode="json")
    document["refs"] = []
    return document


__all__ = ["HubApi", "HubStore", "StoryError", "Vendors", "tryton_task", "wait_for"]
