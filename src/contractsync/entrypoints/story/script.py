"""The story, act by act: what the firm's people do in each system, and what the hub must do in turn.

Each act starts its actions for every deal at once (the hub works on them concurrently, as it
would on a busy day), then waits until the hub has done its part for each. Faults are on from
the first act: the vendors throttle (429) and fail (5xx) some API calls and deliver some
webhooks twice and out of order. They are switched off before reconciliation, which must then
find exactly the one hand edit finance made in the ERP.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any

from contractsync.adapters.kantata.mapping import milestone_marker
from contractsync.entrypoints.story.actors import (
    HubApi,
    HubStore,
    StoryError,
    Vendors,
    tryton_task,
    wait_for,
)
from contractsync.entrypoints.story.cast import RENEWED_END, AmendmentAct, Deal
from contractsync.entrypoints.story.stack import DemoStack
from contractsync.workflows.engine import workflow_id
from contractsync.workflows.flow_context import AMEND_CONTRACT

Step = Callable[[str], None]
"""Told the name of each act as it starts."""

FAULTS: dict[str, dict[str, Any]] = {
    # API faults hit the vendors' REST APIs, never their token endpoints or operator routes.
    "salesforce": {
        "server_error_rate": 0.05,
        "duplicate_webhook_rate": 0.5,
        "paths": ["/services/data"],
    },
    "ironclad": {
        "rate_limit_rate": 0.05,
        "server_error_rate": 0.03,
        "retry_after_seconds": 0.2,
        "duplicate_webhook_rate": 0.3,
        "reorder_webhooks": True,
        "paths": ["/public/api/v1/workflows", "/public/api/v1/records"],
    },
    "docusign": {"duplicate_webhook_rate": 0.5, "paths": ["/restapi"]},
    # Kantata's adapter hands a 429 to the engine (the step waits, then retries): at this
    # rate a step of seven calls is throttled one time in eight.
    "kantata": {
        "rate_limit_rate": 0.02,
        "server_error_rate": 0.05,
        "retry_after_seconds": 0.2,
        "paths": ["/api/v1"],
    },
}
"""The fault plan of each vendor while the story plays (see ``simulators/faults.py``)."""
NO_FAULTS: dict[str, Any] = {
    "server_error_rate": 0.0,
    "rate_limit_rate": 0.0,
    "duplicate_webhook_rate": 0.0,
    "reorder_webhooks": False,
}
HAND_EDIT_FACTOR = Decimal("0.8")
"""Finance "corrects" the milestone price in the ERP to 80 % of what the contract says."""


@dataclass
class StoryLog:
    """What the story did, for the summary: decisions taken, the hand edit, faults injected."""

    workflows: dict[str, str] = field(default_factory=dict)
    decisions: list[dict[str, str]] = field(default_factory=list)
    hand_edit: dict[str, Any] = field(default_factory=dict)
    faults: Counter[str] = field(default_factory=Counter)


class Story:
    """Plays ``deals`` on ``stack``; see the module docstring.

    Args:
        stack: The started demo stack.
        deals: The cast (``cast.cast()``).
        on_act: Told each act's name as it starts.
        timeout: Longest wait for the hub to finish one act.
        faults: The fault plan per vendor while the story plays (``{}``: none).
    """

    def __init__(
        self,
        stack: DemoStack,
        deals: Sequence[Deal],
        *,
        on_act: Step | None = None,
        timeout: float = 240.0,
        faults: Mapping[str, dict[str, Any]] = FAULTS,
    ) -> None:
        assert stack.sims is not None
        assert stack.keys is not None
        self.stack = stack
        self.deals = tuple(deals)
        self.vendors = Vendors(stack.sims.urls)
        self.api = HubApi(
            stack.api_url, admin_key=stack.keys.api_key, finance_key=stack.keys.finance_key
        )
        self.hub = HubStore(stack)
        self.log = StoryLog()
        self._on_act = on_act or (lambda _name: None)
        self._faults = dict(faults)
        self._timeout = timeout

    ACTS = (
        "sales wins deals in Salesforce",
        "legal approves SOWs in Ironclad, customers sign in DocuSign",
        "finance fixes a SOW the hub held back",
        "delivery completes milestones in Kantata",
        "amendments are approved in Ironclad",
        "finance decides the routed amendments through the API",
        "a renewal and a termination",
        "finance edits a price by hand in Tryton",
        "the hub settles",
    )
    """The acts, in order (what the progress bar shows)."""

    def play(self) -> StoryLog:
        """Play every act; return the log. Faults are off again when this returns.

        Raises:
            StoryError: the hub did not finish an act within the timeout.
        """
        acts = (
            self.win_deals,
            self.sign_contracts,
            self.fix_held_contract,
            self.deliver_milestones,
            self.amend_contracts,
            self.decide_routed_amendments,
            self.renew_and_terminate,
            self.edit_erp_by_hand,
            self.settle,
        )
        try:
            for vendor, plan in self._faults.items():
                self.vendors.faults(vendor, plan)
            for name, act in zip(self.ACTS, acts, strict=True):
                self._on_act(name)
                if act == self.settle:
                    self._faults_off()
                act()
        finally:
            if not self.log.faults:
                self._faults_off()
        return self.log

    def close(self) -> None:
        """Close the HTTP clients."""
        self.vendors.close()
        self.api.close()

    # -- acts ------------------------------------------------------------------------------

    def win_deals(self) -> None:
        """Sales creates accounts and closes opportunities; the hub stages a project for each."""
        won = [d for d in self.deals if d.won]
        for deal in won:
            self.vendors.create_account(deal.customer)
            self.vendors.win(deal.customer, deal.signed)
        for deal in won:
            self._wait(partial(self._project_in, deal, "staged"), f"{deal.contract_id} staged")

    def sign_contracts(self) -> None:
        """Every SOW is launched in Ironclad; most are approved there, some signed in DocuSign."""
        for deal in self.deals:
            self.log.workflows[deal.contract_id] = self.vendors.launch(deal.signed, deal.customer)
        for deal in self.deals:
            if deal.signing != "docusign":
                self.vendors.approve(self.log.workflows[deal.contract_id])
        # The launch teaches the hub which CLM workflow holds the contract; the envelope
        # only names the contract, so it must not beat the launch there.
        for deal in self.deals:
            if deal.signing == "docusign":
                self._wait(partial(self._knows, deal), f"the CLM ref of {deal.contract_id}")
                self.vendors.sign(deal.contract_id)
        for deal in self.deals:
            if deal.signing == "fix":
                self._wait(partial(self._open, deal), f"the held {deal.contract_id}'s item")
            else:
                self._wait(partial(self._at_version, deal, 1), f"{deal.contract_id} active")

    def fix_held_contract(self) -> None:
        """Finance sets the missing tax treatment in Ironclad and resolves the item in the hub."""
        for deal in (d for d in self.deals if d.signing == "fix"):
            workflow = self.log.workflows[deal.contract_id]
            edit = {"workflow_id": workflow, "attributes": {"taxTreatment": "domestic_vat"}}
            self.vendors.scenario("ironclad", "edit_workflow", edit)
            for item in self.api.open_items(deal.contract_id):
                self._decide(deal, item, approve=True, note="Tax treatment set in Ironclad")
            self._wait(partial(self._at_version, deal, 1), f"{deal.contract_id} active")

    def deliver_milestones(self) -> None:
        """Delivery completes milestones in Kantata; the hub invoices each once in Tryton."""
        delivered = [
            (d.contract_id, m) for d in self.deals if d.ending != "termination" for m in d.delivered
        ]
        stories = self._stories(delivered)
        for deal in self.deals:
            if deal.ending != "termination":
                for milestone in deal.delivered:
                    self.vendors.complete(stories[(deal.contract_id, milestone)])
        for deal in self.deals:
            if deal.acceptance:
                # The customer's acceptance certificate arrives; delivery confirms it.
                self._wait(partial(self._open, deal), f"{deal.contract_id}'s acceptance item")
                for item in self.api.open_items(deal.contract_id):
                    self._decide(deal, item, approve=True, note="Acceptance certificate on file")
        for deal in self.deals:
            for milestone in deal.invoiced:
                invoice = f"INV-{deal.contract_id}-{milestone}"
                self._wait(partial(self.hub.record, "invoice", invoice), f"invoice {invoice}")

    def amend_contracts(self) -> None:
        """New versions are approved in Ironclad: in the SOW's workflow, or as change orders."""
        for deal in self.deals:
            for act in deal.amendments:
                version = deal.contract(version=act.version, amounts=act.amounts)
                if act.change_order:
                    order = self.vendors.launch(version, deal.customer)
                    self.vendors.approve(order)
                    # The later version must be seen first for the out-of-order case to
                    # mean anything: wait until its run has started, waiting for the other.
                    key = f"{deal.contract_id}:v{act.version}"
                    self._wait(partial(self._run_started, key), f"the run of {key}")
                else:
                    self.vendors.amend(self.log.workflows[deal.contract_id], version, deal.customer)
        for deal in self.deals:
            for act in deal.amendments:
                if act.decision == "auto":
                    self._wait(
                        partial(self._at_version, deal, act.version),
                        f"{deal.contract_id} v{act.version}",
                    )
                else:
                    self._wait(partial(self._open, deal), f"{deal.contract_id}'s routed amendment")

    def decide_routed_amendments(self) -> None:
        """Finance approves or rejects each routed amendment through the process API."""
        for deal in self.deals:
            for act in (a for a in deal.amendments if a.decision != "auto"):
                approve = act.decision == "approve"
                note = (
                    "Approved by the CFO" if approve else "The customer never agreed to this price"
                )
                for item in self.api.open_items(deal.contract_id):
                    self._decide(deal, item, approve=approve, note=note)
        for deal in self.deals:
            for act in (a for a in deal.amendments if a.decision != "auto"):
                if act.decision == "approve":
                    self._wait(
                        partial(self._at_version, deal, act.version),
                        f"{deal.contract_id} v{act.version}",
                    )
                else:
                    self._wait(
                        partial(self._has_event, deal, "amendment.rejected"),
                        f"{deal.contract_id}'s rejection",
                    )

    def renew_and_terminate(self) -> None:
        """One SOW is renewed in Ironclad; one deal is cancelled there.

        Delivery still completes a milestone of the cancelled deal in Kantata afterwards,
        which the hub must not bill.
        """
        ending = [(d.contract_id, m) for d in self.deals if d.ending for m in d.delivered]
        stories = self._stories(ending)
        for deal in self.deals:
            workflow = self.log.workflows[deal.contract_id]
            if deal.ending == "renewal":
                renewed = deal.contract(version=2, end=RENEWED_END)
                self.vendors.amend(workflow, renewed, deal.customer)
            elif deal.ending == "termination":
                self.vendors.scenario("ironclad", "cancel_workflow", {"workflow_id": workflow})
        for deal in self.deals:
            if deal.ending == "renewal":
                self._wait(
                    partial(self._ends_on, deal, RENEWED_END.isoformat()),
                    f"{deal.contract_id} renewed",
                )
            elif deal.ending == "termination":
                self._wait(
                    partial(self._in_status, deal, "terminated"), f"{deal.contract_id} terminated"
                )
                for milestone in deal.delivered:
                    self.vendors.complete(stories[(deal.contract_id, milestone)])

    def edit_erp_by_hand(self) -> None:
        """Finance changes one milestone's price in Tryton's UI, outside the hub."""
        for deal in (d for d in self.deals if d.hand_edit):
            task_id, price = tryton_task(self.stack, deal.contract_id, deal.hand_edit or "")
            edited = (Decimal(str(price)) * HAND_EDIT_FACTOR).quantize(Decimal("0.01"))
            client = self.stack.tryton_client()
            try:
                client.write("project.work", [task_id], {"list_price": edited})
            finally:
                client.close()
            self.log.hand_edit = {
                "contract_id": deal.contract_id,
                "milestone_id": deal.hand_edit,
                "contract_price": f"{price:.2f}",
                "erp_price": f"{edited:.2f}",
            }

    def settle(self) -> None:
        """Wait until every inbound message is processed and no run is left in flight."""
        self._wait(lambda: self.hub.busy_messages() == 0, "every inbound message processed")
        runtime = self.stack.runtime
        assert runtime is not None
        engine = runtime.worker.engine
        self._wait(lambda: not _in_flight(engine), "every workflow run finished")

    # -- helpers ---------------------------------------------------------------------------

    def _faults_off(self) -> None:
        """Stop injecting faults; the log keeps how many each vendor injected in all."""
        for vendor in FAULTS:
            try:
                self.vendors.faults(vendor, NO_FAULTS)
                self.log.faults.update(_injected(self.vendors.stats(vendor), vendor))
            except Exception:  # noqa: BLE001 - best effort: the story is ending anyway
                continue

    def _run_started(self, key: str) -> bool:
        runtime = self.stack.runtime
        assert runtime is not None
        run_id = workflow_id(AMEND_CONTRACT, key)
        return bool(runtime.worker.engine.list_workflows(prefix=run_id))

    def _decide(self, deal: Deal, item: dict[str, Any], *, approve: bool, note: str) -> None:
        self.api.decide(str(item["id"]), approve=approve, note=note)
        self.log.decisions.append(
            {
                "contract_id": deal.contract_id,
                "item": str(item["id"]),
                "code": str(item["code"]),
                "owner": str(item["owner"]),
                "decision": "approved" if approve else "rejected",
            }
        )

    def _wait(self, check: Callable[[], Any], what: str) -> Any:
        return wait_for(check, what, timeout=self._timeout)

    def _project_in(self, deal: Deal, status: str) -> bool:
        return self._project_status(deal) == status

    def _in_status(self, deal: Deal, status: str) -> bool:
        return self._status(deal) == status

    def _at_version(self, deal: Deal, version: int) -> bool:
        """Active at ``version`` or later (a later version arriving first is applied after)."""
        return self._version(deal) >= version

    def _ends_on(self, deal: Deal, end: str) -> bool:
        return self._term_end(deal) == end

    def _has_event(self, deal: Deal, event: str) -> bool:
        return event in self.hub.events(deal.contract_id)

    def _project_status(self, deal: Deal) -> str | None:
        project = self.hub.record("project", deal.contract_id)
        return None if project is None else str(project["status"])

    def _status(self, deal: Deal) -> str | None:
        contract = self.hub.record("contract", deal.contract_id)
        return None if contract is None else str(contract["status"])

    def _version(self, deal: Deal) -> int:
        contract = self.hub.record("contract", deal.contract_id)
        return 0 if contract is None or contract["status"] != "active" else int(contract["version"])

    def _term_end(self, deal: Deal) -> str | None:
        contract = self.hub.record("contract", deal.contract_id)
        return None if contract is None else str(contract["term"]["end"])

    def _open(self, deal: Deal) -> list[Any]:
        return [i for i in self.hub.items(deal.contract_id) if not i.is_closed]

    def _knows(self, deal: Deal) -> bool:
        assert self.stack.container is not None
        with self.stack.container.uow_factory() as uow:
            return bool(uow.refs.refs_of("contract", deal.contract_id))

    def _stories(self, wanted: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """Kantata story ids by (contract id, milestone id), once the PSA holds all ``wanted``."""
        found: dict[tuple[str, str], str] = self._wait(
            partial(self._stories_now, wanted), "the milestones' stories in Kantata"
        )
        return found

    def _stories_now(self, wanted: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str] | None:
        stories = self.vendors.state("kantata")["stories"].values()
        found: dict[tuple[str, str], str] = {}
        for contract_id, milestone_id in wanted:
            marker = milestone_marker(contract_id, milestone_id)
            for story in stories:
                if marker in str(story.get("description", "")):
                    found[(contract_id, milestone_id)] = str(story["id"])
        return found if len(found) == len(wanted) else None


def _in_flight(engine: Any) -> bool:
    return any(not run.status.is_terminal for run in engine.list_workflows(prefix=""))


def _injected(stats: dict[str, Any], vendor: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    for kind, count in dict(stats.get("injected", {})).items():
        counts[f"{vendor}:{kind}"] += int(count)
    return counts


__all__ = ["FAULTS", "HAND_EDIT_FACTOR", "AmendmentAct", "Story", "StoryError", "StoryLog"]
