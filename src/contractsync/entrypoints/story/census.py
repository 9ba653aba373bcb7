"""Read every system back once the story is over, and say where it differs from the contracts.

The census reads each system as its own users would see it: Tryton over JSON-RPC (parties,
projects and their milestone tasks, customer invoices), Kantata and Salesforce through their
simulators' state, the hub through its store. ``mismatches`` compares that with what each
deal's final contract says (``cast.Deal.final``); the end-to-end test asserts it is empty.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from contractsync.adapters.kantata.mapping import milestone_marker, project_marker
from contractsync.adapters.tryton.mapping import record_key
from contractsync.entrypoints.story.actors import HubStore, Vendors
from contractsync.entrypoints.story.cast import Deal
from contractsync.entrypoints.story.script import HAND_EDIT_FACTOR
from contractsync.entrypoints.story.stack import DemoStack


@dataclass
class ErpContract:
    """One contract as Tryton holds it."""

    parties: int = 0
    projects: int = 0
    project_state: str | None = None
    """The project's work status in Tryton ("Open", "Closed" ...)."""
    prices: dict[str, Decimal] = field(default_factory=dict)
    invoices: list[Decimal] = field(default_factory=list)


@dataclass
class PsaContract:
    """One contract as Kantata holds it."""

    workspaces: int = 0
    archived: bool | None = None
    stories: dict[str, str] = field(default_factory=dict)
    """Milestone id -> story state."""


@dataclass
class Census:
    """What every system holds at the end of the story."""

    erp: dict[str, ErpContract] = field(default_factory=dict)
    psa: dict[str, PsaContract] = field(default_factory=dict)
    crm_accounts: Counter[str] = field(default_factory=Counter)
    crm_opportunities: int = 0
    hub_contracts: dict[str, dict[str, Any]] = field(default_factory=dict)
    hub_invoices: int = 0
    events: Counter[str] = field(default_factory=Counter)
    items_by_owner: Counter[str] = field(default_factory=Counter)
    open_items: int = 0
    deliveries: dict[str, int] = field(default_factory=dict)
    """Webhook deliveries each vendor made that the hub accepted (2xx), duplicates included."""
    messages: dict[str, int] = field(default_factory=dict)
    """Messages the hub stored per source: each event once."""

    @property
    def duplicates_suppressed(self) -> int:
        """Deliveries the hub accepted without storing (or acting on) the event again."""
        return sum(max(0, self.deliveries[s] - self.messages.get(s, 0)) for s in self.deliveries)


def take_census(stack: DemoStack, deals: Sequence[Deal], vendors: Vendors) -> Census:
    """Read Tryton, the simulators and the hub (see the module docstring)."""
    census = Census()
    _read_erp(stack, deals, census)
    _read_psa(vendors, deals, census)
    accounts = vendors.state("salesforce")["records"]
    for account in accounts.get("Account", []):
        census.crm_accounts[str(account.get("Canonical_Id__c"))] += 1
    census.crm_opportunities = len(accounts.get("Opportunity", []))
    hub = HubStore(stack)
    for deal in deals:
        census.hub_contracts[deal.contract_id] = hub.record("contract", deal.contract_id) or {}
        census.events.update(hub.events(deal.contract_id))
        census.hub_invoices += sum(
            hub.record("invoice", f"INV-{deal.contract_id}-{m}") is not None
            for m in ("M1", "M2", "M3")
        )
    for item in hub.all_items():
        census.items_by_owner[item.owner.value] += 1
        census.open_items += not item.is_closed
    for source in ("ironclad", "salesforce", "docusign"):
        log = vendors.webhook_log(source)
        census.deliveries[source] = sum(1 for entry in log if entry["outcome"] == "delivered")
        census.messages[source] = hub.messages(source)
    return census


def mismatches(census: Census, deals: Sequence[Deal]) -> list[str]:
    """Every way a system differs from what the deals' contracts say; empty when all agree."""
    found: list[str] = []
    for deal in deals:
        found += [f"{deal.contract_id}: {problem}" for problem in _deal_mismatches(census, deal)]
    return found


def _deal_mismatches(census: Census, deal: Deal) -> list[str]:
    final, problems = deal.final, []
    wanted = {m.id: m.amount.amount for m in final.lines[0].billing.milestones}  # type: ignore[union-attr]
    erp, psa = census.erp[deal.contract_id], census.psa[deal.contract_id]
    hub = census.hub_contracts[deal.contract_id]
    status = "terminated" if deal.ending == "termination" else "active"
    if (hub.get("status"), hub.get("version")) != (status, final.version):
        problems.append(
            f"hub holds {hub.get('status')} v{hub.get('version')}, not {status} v{final.version}"
        )
    if erp.parties != 1:
        problems.append(f"{erp.parties} ERP parties for {deal.customer.id}")
    if erp.projects != 1:
        problems.append(f"{erp.projects} ERP projects")
    erp_wanted = dict(wanted)
    if deal.hand_edit:
        erp_wanted[deal.hand_edit] = (wanted[deal.hand_edit] * HAND_EDIT_FACTOR).quantize(
            Decimal("0.01")
        )
    if erp.prices != erp_wanted:
        problems.append(f"ERP milestone prices {erp.prices} != {erp_wanted}")
    invoiced = sorted(wanted[m] for m in deal.invoiced)
    if sorted(erp.invoices) != invoiced:
        problems.append(f"ERP invoices {sorted(erp.invoices)} != {invoiced}")
    if psa.workspaces != 1:
        problems.append(f"{psa.workspaces} PSA workspaces")
    if set(psa.stories) != set(wanted):
        problems.append(f"PSA milestones {sorted(psa.stories)} != {sorted(wanted)}")
    if census.crm_accounts[deal.customer.id] != 1:
        problems.append(
            f"{census.crm_accounts[deal.customer.id]} CRM accounts for {deal.customer.id}"
        )
    if deal.ending == "termination" and (erp.project_state, psa.archived) != ("Closed", True):
        problems.append(
            f"terminated, but ERP project {erp.project_state}, PSA archived {psa.archived}"
        )
    if deal.ending != "termination" and (erp.project_state, psa.archived) != ("Open", False):
        problems.append(f"active, but ERP project {erp.project_state}, PSA archived {psa.archived}")
    if deal.ending == "renewal" and hub.get("term", {}).get("end") != final.term.end.isoformat():
        problems.append(f"hub term ends {hub.get('term', {}).get('end')}, not {final.term.end}")
    return problems


def _read_erp(stack: DemoStack, deals: Sequence[Deal], census: Census) -> None:
    client = stack.tryton_client()
    both = ["OR", ("active", "=", True), ("active", "=", False)]
    try:
        for deal in deals:
            erp = census.erp[deal.contract_id] = ErpContract()
            erp.parties = len(client.search("party.party", [("code", "=", deal.customer.id), both]))
            projects = client.search_read(
                "project.work",
                [
                    ("type", "=", "project"),
                    ("comment", "=", record_key("project", deal.contract_id)),
                ],
                ["id", "status.name"],
            )
            erp.projects = len(projects)
            if projects:
                erp.project_state = str((projects[0].get("status.") or {}).get("name"))
                tasks = client.search_read(
                    "project.work", [("parent", "=", projects[0]["id"])], ["comment", "list_price"]
                )
                erp.prices = {
                    str(t["comment"]).removeprefix(record_key("task", "")): Decimal(
                        str(t["list_price"])
                    )
                    for t in tasks
                }
            invoices = client.search_read(
                "account.invoice",
                [
                    ("reference", "ilike", f"%{record_key('invoice', deal.contract_id)}/%"),
                    ("type", "=", "out"),
                ],
                ["untaxed_amount"],
            )
            erp.invoices = [Decimal(str(i["untaxed_amount"])) for i in invoices]
    finally:
        client.close()


def _read_psa(vendors: Vendors, deals: Sequence[Deal], census: Census) -> None:
    state = vendors.state("kantata")
    workspaces = list(state["workspaces"].values())
    stories = list(state["stories"].values())
    for deal in deals:
        psa = census.psa[deal.contract_id] = PsaContract()
        marker = project_marker(deal.contract_id)
        mine = [w for w in workspaces if marker in str(w.get("description", ""))]
        psa.workspaces = len(mine)
        psa.archived = bool(mine[0].get("archived")) if mine else None
        for milestone in ("M1", "M2", "M3", "M4"):
            story_marker = milestone_marker(deal.contract_id, milestone)
            for story in stories:
                if story_marker in str(story.get("description", "")):
                    psa.stories[milestone] = str(story.get("state"))


__all__ = ["Census", "ErpContract", "PsaContract", "mismatches", "take_census"]
