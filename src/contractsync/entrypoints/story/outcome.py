"""Play the story, take the census, reconcile: the whole demo as one call, and its outcome.

``play_demo`` is what ``contractsync demo`` and the end-to-end test both run; ``DemoOutcome``
holds everything either looks at, and ``summary`` turns it into the JSON ``--json`` prints.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from contractsync.bootstrap import build_reconciliation
from contractsync.domain.drift import ReconciliationReport
from contractsync.entrypoints.story.cast import Deal
from contractsync.entrypoints.story.census import Census, mismatches, take_census
from contractsync.entrypoints.story.script import FAULTS, Story, StoryLog
from contractsync.entrypoints.story.stack import DemoStack

Tick = Callable[[str], None]
"""Told what the demo is doing now."""


@dataclass
class DemoOutcome:
    """What the story did and what every system holds after it."""

    deals: tuple[Deal, ...]
    log: StoryLog
    census: Census
    mismatches: list[str]
    reconciliation: ReconciliationReport
    story_seconds: float

    @property
    def drift(self) -> list[tuple[str, str, str]]:
        """(contract, kind, field) of every drift item reconciliation found."""
        lines = self.reconciliation.lines
        return [(line.item.contract_id, line.item.kind.value, line.item.field) for line in lines]


def play_demo(
    stack: DemoStack,
    deals: Sequence[Deal],
    *,
    on_act: Tick | None = None,
    faults: Mapping[str, dict[str, Any]] = FAULTS,
) -> DemoOutcome:
    """Play ``deals`` on the started ``stack``, then read every system and reconcile.

    Raises:
        StoryError: the hub did not finish an act in time.
        ContractSyncError: reconciliation could not be set up.
    """
    tick = on_act or (lambda _what: None)
    started = time.monotonic()
    story = Story(stack, deals, on_act=tick, faults=faults)
    try:
        log = story.play()
        tick("reading every system back")
        census = take_census(stack, deals, story.vendors)
    finally:
        story.close()
    tick("reconciling the CLM with the ERP, PSA and CRM")
    assert stack.settings is not None
    job = build_reconciliation(stack.settings)
    try:
        report = job.run(contract_ids=None, heal=True, on_progress=lambda *_: None)
    finally:
        job.close()
    return DemoOutcome(
        deals=tuple(deals),
        log=log,
        census=census,
        mismatches=mismatches(census, deals),
        reconciliation=report,
        story_seconds=time.monotonic() - started,
    )


def summary(outcome: DemoOutcome) -> dict[str, Any]:
    """The outcome as JSON-ready figures (what ``--json`` prints and the table shows)."""
    census, events, deals = outcome.census, outcome.census.events, outcome.deals
    amendments = [a for d in deals for a in d.amendments]
    decisions = Counter(
        d["decision"] for d in outcome.log.decisions if d["code"] == "amendment.routed"
    )
    invoiced = sum((sum(e.invoices, Decimal(0)) for e in census.erp.values()), Decimal(0))
    report = outcome.reconciliation
    return {
        "contracts": {
            "total": len(deals),
            "active": sum(c.get("status") == "active" for c in census.hub_contracts.values()),
            "terminated": sum(
                c.get("status") == "terminated" for c in census.hub_contracts.values()
            ),
            "renewed": events["contract.renewed"],
            "won_in_crm": sum(d.won for d in deals),
            "signed_in_docusign": sum(d.signing == "docusign" for d in deals),
        },
        "projects": {
            "erp": sum(e.projects for e in census.erp.values()),
            "psa": sum(p.workspaces for p in census.psa.values()),
        },
        "invoices": {
            "count": sum(len(e.invoices) for e in census.erp.values()),
            "total_eur": f"{invoiced:.2f}",
        },
        "amendments": {
            "approved_in_clm": len(amendments),
            "applied_automatically": events["amendment.applied"] - decisions["approved"],
            "routed": events["amendment.routed"],
            "approved_by_finance": decisions["approved"],
            "rejected_by_finance": decisions["rejected"],
        },
        "exceptions_by_owner": dict(sorted(census.items_by_owner.items())),
        "open_exceptions": census.open_items,
        "webhooks": {
            "accepted": sum(census.deliveries.values()),
            "stored_once": sum(census.messages.values()),
            "duplicates_suppressed": census.duplicates_suppressed,
        },
        "faults_injected": dict(sorted(outcome.log.faults.items())),
        "hand_edit": outcome.log.hand_edit,
        "reconciliation": {
            "contracts": len(report.contracts),
            "drift": [
                {
                    "contract_id": line.item.contract_id,
                    "kind": line.item.kind.value,
                    "field": line.item.field,
                    "expected": line.item.expected,
                    "actual": line.item.actual,
                    "money_at_risk": None
                    if line.item.money_at_risk is None
                    else str(line.item.money_at_risk),
                    "outcome": line.outcome.value,
                    "owner": None if line.owner is None else line.owner.value,
                }
                for line in report.lines
            ],
            "failures": len(report.all_failures),
        },
        "systems_match_contracts": not outcome.mismatches,
        "mismatches": outcome.mismatches,
        "story_seconds": round(outcome.story_seconds, 1),
    }


__all__ = ["DemoOutcome", "play_demo", "summary"]
