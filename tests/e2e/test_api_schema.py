"""Schemathesis against the live API's OpenAPI: no server errors, no schema violations.

The app is built through the real composition root on a migrated SQLite database seeded with
five sample contracts (customers, projects, refs, messages, events, invoices and exception
items written through the ports and the exception service). Every operation gets a bounded,
seeded number of generated cases (positive and negative); half of the id-bearing cases are
pointed at seeded ids so the success paths are exercised, not only 404s.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from contractsync.adapters.persistence.migrate import upgrade
from contractsync.bootstrap import build_api
from contractsync.config import Settings
from contractsync.domain.contract import Contract, ContractStatus
from contractsync.entrypoints.api import create_app
from contractsync.ports.workflows import RunState
from contractsync.testing.fake_operator_runs import RecordingOperatorRuns
from contractsync.testing.fakes import FixedClock, InMemoryUnitOfWork, RecordingDispatcher
from tests.e2e.process_seed import (
    ADMIN_KEY,
    FakeRuns,
    Seeded,
    api_settings,
    bearer,
    seed_hub,
    with_fake_operator_runs,
    with_fake_replays,
)

EXAMPLES_PER_OPERATION = 40
# Generating whole canonical contracts is slow: the dry run gets fewer, larger cases.
PLAN_EXAMPLES = 15
PLAN_PATH = "amendments:plan$"
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]


BASE_URL = f"http://{asgi.HOST}"


@dataclass
class LiveApi:
    app: FastAPI
    client: Any
    seeded: Seeded
    etags: dict[str, str]


@pytest.fixture(scope="module")
def live_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    monkeypatch = pytest.MonkeyPatch()
    url = f"sqlite:///{tmp_path_factory.mktemp('schema') / 'hub.sqlite'}"
    upgrade(url)
    settings_ = Settings.model_validate(
        {"database": {"url": url}, "api": api_settings(monkeypatch)}
    )
    clock = FixedClock()
    container = build_api(settings_, dispatcher=RecordingDispatcher(), clock=clock)
    seeded = seed_hub(container.uow_factory, clock)
    _activate(container.uow_factory, seeded.contracts[0])  # so renew and terminate can succeed
    runs = FakeRuns()
    runs.states["inbox:ironclad:wf-0"] = RunState.FAILED
    faked = with_fake_replays(container, clock, runs)
    app = create_app(with_fake_operator_runs(faked, RecordingOperatorRuns()))
    with TestClient(app) as client:
        etags = {
            item: client.get(f"/api/v1/exceptions/{item}", headers=bearer(ADMIN_KEY)).headers[
                "ETag"
            ]
            for item in seeded.exceptions
        }
    with asgi.get_client(app) as session:
        yield LiveApi(app, session, seeded, etags)
    container.close()
    monkeypatch.undo()


def _activate(uow_factory: Any, contract_id: str) -> None:
    with uow_factory() as uow:
        stored = Contract.model_validate(uow.records.get("contract", contract_id))
        active = stored.model_copy(
            update={"version": stored.version + 1, "status": ContractStatus.ACTIVE}
        )
        document = active.model_dump(mode="json")
        uow.records.put("contract", contract_id, document, version=active.version, cause="seed")
        uow.commit()


def _published_document() -> dict[str, Any]:
    """The OpenAPI document as the API publishes it (it does not depend on stored data)."""
    container = build_api(
        Settings(), uow_factory=InMemoryUnitOfWork, dispatcher=RecordingDispatcher()
    )
    with TestClient(create_app(container)) as client:
        document: dict[str, Any] = client.get("/openapi.json").json()
    return document


# Loaded at collection so pytest gets one test per operation; the cases are sent to the
# seeded live app (through its test client) when they run.
schema = schemathesis.openapi.from_dict(_published_document())
_turn = itertools.count()


def _point_at_seeded_ids(case: Any, live: LiveApi) -> None:
    """Every other id-bearing case targets a seeded record (and, for actions, its ETag)."""
    if next(_turn) % 2:
        return
    params = case.path_parameters or {}
    seeded = live.seeded
    for name, ids in (
        ("contract_id", seeded.contracts),
        ("customer_id", seeded.customers),
        ("item_id", seeded.exceptions),
    ):
        if name in params:
            params[name] = ids[len(str(params[name])) % len(ids)]
    if "item_id" in params and case.method == "POST":
        case.headers = {**(case.headers or {}), "If-Match": live.etags[params["item_id"]]}


def _call_and_validate(case: Any, live: LiveApi) -> None:
    _point_at_seeded_ids(case, live)
    case.call_and_validate(
        session=live.client, base_url=BASE_URL, headers=bearer(ADMIN_KEY), checks=CHECKS
    )


@schema.exclude(path_regex=PLAN_PATH).parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_within_its_documented_schema(case: Any, live_api: LiveApi) -> None:
    _call_and_validate(case, live_api)


@schema.include(path_regex=PLAN_PATH).parametrize()
@settings(
    max_examples=PLAN_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_the_amendment_dry_run_answers_within_its_documented_schema(
    case: Any, live_api: LiveApi
) -> None:
    _call_and_validate(case, live_api)


def test_the_schema_documents_every_process_operation_with_problems_and_security(
    live_api: LiveApi,
) -> None:
    with TestClient(live_api.app) as client:
        document = client.get("/openapi.json").json()
    process = {
        path: operations
        for path, operations in document["paths"].items()
        if path.startswith("/api/v1/")
    }
    assert len([op for ops in process.values() for op in ops]) == 21
    assert document["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    for path, operations in process.items():
        for method, operation in operations.items():
            assert operation["operationId"], (method, path)
            assert operation["security"] == [{"apiKey": []}], (method, path)
            for status in ("401", "403", "422", "503"):
                content = operation["responses"][status]["content"]
                assert "application/problem+json" in content, (method, path, status)
    actions = [p for p in process if p.endswith((":assign", ":retry", ":resolve", ":dismiss"))]
    for path in actions:
        assert {"404", "409", "412", "428"} <= set(process[path]["post"]["responses"])
