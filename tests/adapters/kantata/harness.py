"""The Kantata adapter's conformance harness: the adapter against an in-process simulator."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import httpx

from contractsync.adapters.kantata import KantataProjectTracker
from contractsync.adapters.kantata.mapping import project_marker
from contractsync.domain.contract import Contract
from contractsync.domain.identity import ExternalRef
from contractsync.domain.project import Project
from contractsync.simulators import FaultPlan
from contractsync.simulators.kantata import KantataSimulator
from contractsync.simulators.kantata_scenarios import OPERATOR_USER
from contractsync.testing.conformance import Fault, Role
from tests.adapters.kantata import samples


class KantataHarness:
    """Builds ``KantataProjectTracker`` against a fresh ``KantataSimulator``.

    The adapter retries reads and idempotent writes on 5xx and settles lost creates by
    their markers itself (``settles_faults``); throttles reach the caller.
    """

    system = "kantata"
    role: ClassVar[Role] = "project_tracker"
    expected_retry_after = samples.RATE_LIMIT_WAIT
    page_size = 3
    settles_faults = True

    def __init__(self) -> None:
        self.sim = KantataSimulator(faults=FaultPlan(paths=["/api/v1"]))
        self._transports: list[httpx.BaseTransport] = []
        self._workspace: str | None = None

    def build(self, *, credentials: Literal["valid", "invalid"] = "valid") -> KantataProjectTracker:
        transport = self.sim.transport()
        self._transports.append(transport)
        token = "sim-token" if credentials == "valid" else "revoked-token"
        return KantataProjectTracker.connect(samples.settings(token=token), transport=transport)

    def build_unreachable(self) -> KantataProjectTracker:
        return KantataProjectTracker.connect(samples.settings(base_url="http://127.0.0.1:9"))

    def inject(self, fault: Fault, *, times: int = 1) -> None:
        self.sim.injector.force(*([fault] * times))

    def count_records(self, kind: str, key: str) -> int:
        assert kind == "project"
        marker = project_marker(key)
        return sum(
            1 for w in self.sim.account.records["workspaces"].values() if marker in w["description"]
        )

    def upsert_project(self, adapter: Any, key: str) -> ExternalRef:
        ref: ExternalRef = adapter.upsert_project(samples.project(key), samples.contract(key))
        return ref

    def open_project(self, adapter: Any, key: str) -> tuple[Project, Contract]:
        project, contract = samples.project(key), samples.contract(key)
        adapter.upsert_project(project, contract)
        return project, contract

    def seed_events(self, count: int) -> list[str]:
        account = self.sim.account
        if self._workspace is None:
            attrs = {"title": "Seeded", "creator_role": "maven"}
            self._workspace = account.create("workspaces", attrs, user_id=OPERATOR_USER)["id"]
        events = []
        for _ in range(count):
            entry = {
                "workspace_id": self._workspace,
                "date_performed": "2026-01-05",
                "time_in_minutes": 30,
            }
            account.create("time_entries", entry, user_id=OPERATOR_USER)
            assert account.last_event_id is not None
            events.append(account.last_event_id)
        return events

    def close(self) -> None:
        for transport in self._transports:
            transport.close()
