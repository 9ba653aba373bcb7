"""The demo story end to end: real Tryton, the vendor simulators over HTTP, the hub as it is served.

The story (``contractsync demo``) runs once for the module: 26 contracts won, approved or
signed, delivered, amended, renewed and terminated, with 429s, 5xx and duplicate and
reordered webhooks injected, and one price edited by hand in Tryton. Each test then looks at
one thing a finance team relies on, in the systems themselves: Tryton over JSON-RPC, the
simulators' state, the hub's store and its API.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from rich.console import Console

from contractsync.entrypoints.story.cast import cast
from contractsync.entrypoints.story.command import render
from contractsync.entrypoints.story.outcome import DemoOutcome, play_demo, summary
from contractsync.entrypoints.story.stack import DemoStack
from contractsync.services.audit import verify_log


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoStack]:
    started = DemoStack(Path(tmp_path_factory.mktemp("demo"))).start()
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
def outcome(stack: DemoStack) -> DemoOutcome:
    return play_demo(stack, cast())


def test_every_system_holds_what_the_contracts_say_once(outcome: DemoOutcome) -> None:
    # Per contract: one ERP party, project and PSA workspace, one CRM account, the final
    # version's milestone prices in Tryton and milestones in Kantata, exactly the delivered
    # milestones invoiced once each, the hub's record at the final version and status.
    assert outcome.mismatches == []
    assert len(outcome.census.erp) == len(outcome.deals) >= 25


def test_the_story_covers_what_the_demo_promises(outcome: DemoOutcome) -> None:
    figures = summary(outcome)

    assert figures["contracts"]["total"] >= 25
    assert figures["contracts"]["won_in_crm"] > 0
    assert figures["contracts"]["signed_in_docusign"] > 0
    assert (figures["contracts"]["renewed"], figures["contracts"]["terminated"]) == (1, 1)
    assert figures["amendments"]["approved_in_clm"] >= 8
    assert figures["amendments"]["applied_automatically"] > 0
    assert figures["amendments"]["routed"] == 3
    assert (
        figures["amendments"]["approved_by_finance"],
        figures["amendments"]["rejected_by_finance"],
    ) == (2, 1)
    assert figures["invoices"]["count"] == sum(len(d.invoiced) for d in outcome.deals)
    assert figures["open_exceptions"] == 0


def test_faults_were_injected_and_duplicates_suppressed(outcome: DemoOutcome) -> None:
    faults = outcome.log.faults
    throttles = sum(n for kind, n in faults.items() if kind.endswith(":rate_limit"))
    failures = sum(n for kind, n in faults.items() if kind.endswith(":server_error"))

    assert throttles > 0
    assert failures > 0
    assert outcome.census.duplicates_suppressed > 0


def test_reconciliation_reports_exactly_the_hand_edit(outcome: DemoOutcome) -> None:
    edit = outcome.log.hand_edit
    report = outcome.reconciliation

    assert report.all_failures == []
    (line,) = report.lines
    assert line.item.contract_id == edit["contract_id"]
    assert line.item.role.value == "erp"
    assert Decimal(line.item.expected.split()[0]) == Decimal(edit["contract_price"])
    assert Decimal(line.item.actual.split()[0]) == Decimal(edit["erp_price"])
    assert line.item.money_at_risk is not None
    assert line.item.money_at_risk.amount == Decimal(edit["contract_price"]) - Decimal(
        edit["erp_price"]
    )
    assert (line.outcome.value, line.owner.value if line.owner else None) == (
        "exception",
        "finance",
    )


def test_routed_amendments_were_decided_through_the_api_and_audited(
    outcome: DemoOutcome, stack: DemoStack
) -> None:
    assert stack.keys is not None
    assert stack.container is not None
    decided = [d for d in outcome.log.decisions if d["code"] == "amendment.routed"]
    headers = {"Authorization": f"Bearer {stack.keys.api_key}"}

    for decision in decided:
        item = httpx.get(f"{stack.api_url}/api/v1/exceptions/{decision['item']}", headers=headers)
        assert item.status_code == 200
        expected = "resolved" if decision["decision"] == "approved" else "dismissed"
        assert item.json()["status"] == expected
        assert item.json()["history"][-1]["actor"] == "api:demo-finance"
    with stack.container.uow_factory() as uow:
        assert verify_log(uow).is_intact


def test_the_summary_prints_as_a_table_and_as_json(outcome: DemoOutcome) -> None:
    figures = summary(outcome) | {"api_url": "http://127.0.0.1:8080", "workdir": "demo"}
    console = Console(record=True, width=160)

    render(outcome, figures, console)

    text = console.export_text()
    assert "every system matches the contracts" in text
    assert f"{len(outcome.deals)}: " in text
    assert "http://127.0.0.1:8080/docs" in text
    assert json.loads(json.dumps(figures))["systems_match_contracts"] is True
