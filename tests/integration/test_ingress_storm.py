"""Ingress against a real uvicorn on SQL: a 1,000-event storm takes effect once; attacks store nothing."""

from __future__ import annotations

import base64
import json
import socket
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import func, select

from contractsync.adapters.persistence.engine import create_engine_for
from contractsync.adapters.persistence.tables import audit_log, inbox
from contractsync.adapters.signatures import docusign_connect, ironclad, standard_webhooks
from contractsync.bootstrap import build_api
from contractsync.config import Settings
from contractsync.entrypoints.api import create_app
from contractsync.ports.storage import InboxStatus
from contractsync.testing.fakes import RecordingDispatcher

SECRET = "whsec_" + base64.b64encode(bytes(range(7, 39))).decode()
CONNECT_KEY = "storm-connect-key-0123456789-abcdefghijklmn"
CLIENT_THREADS = 8
STANDARD_EVENTS, DOCUSIGN_EVENTS, IRONCLAD_EVENTS = 800, 100, 100
RACED_EVENTS, RACE_COPIES = 50, 3  # 50 events x 2 extra copies racing = 100 duplicates
RESIGNED, REDELIVERED = 60, 40  # 60 + 40 = the other 100 duplicates


@dataclass(frozen=True)
class Delivery:
    """One HTTP delivery; ``sign`` builds its headers when it is sent (fresh timestamps)."""

    key: str
    source: str
    body: bytes
    sign: Callable[[], dict[str, str]]


@dataclass
class Outcome:
    key: str
    status: int
    seconds: float


def _standard(n: int) -> Delivery:
    event_id = f"sf-{n:04d}"
    body = json.dumps(
        {"specversion": "1.0", "id": event_id, "source": "sim", "type": "opportunity.won"}
    ).encode()
    return Delivery(
        f"salesforce:{event_id}",
        "salesforce",
        body,
        lambda: standard_webhooks.sign(SECRET, event_id, int(time.time()), body),
    )


def _docusign(n: int) -> Delivery:
    envelope = f"env-{n:04d}"
    body = json.dumps(
        {
            "event": "envelope-completed",
            "apiVersion": "v2.1",
            "generatedDateTime": "2026-01-05T09:00:00.0000000Z",
            "data": {"accountId": "acc", "envelopeId": envelope},
        }
    ).encode()
    headers = docusign_connect.sign([CONNECT_KEY], body)
    return Delivery(f"docusign:{envelope}", "docusign", body, lambda: headers)


def _ironclad(n: int, key: rsa.RSAPrivateKey) -> Delivery:
    event_id = f"ic-{n:04d}"
    body = json.dumps(
        {"companyID": "c", "payload": {"event": "workflow_completed", "workflowID": f"wf-{n}"}},
        separators=(",", ":"),
    ).encode()
    headers = ironclad.sign(key, event_id, body, nonce=f"nonce-{n}")
    return Delivery(f"ironclad:{event_id}", "ironclad", body, lambda: headers)


@pytest.fixture(scope="module")
def ironclad_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def settings(
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    ironclad_key: rsa.RSAPrivateKey,
) -> Settings:
    monkeypatch.setenv("STORM_SALESFORCE_SECRET", SECRET)
    monkeypatch.setenv("STORM_CONNECT_KEY", CONNECT_KEY)
    pem = tmp_path / "ironclad.pem"
    pem.write_bytes(
        ironclad_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return Settings.model_validate(
        {
            "database": {"url": database_url},
            "ingress": {
                "sources": {
                    "salesforce": {
                        "scheme": "standard_webhooks",
                        "secrets": [{"env": "STORM_SALESFORCE_SECRET"}],
                    },
                    "docusign": {
                        "scheme": "docusign_connect",
                        "secrets": [{"env": "STORM_CONNECT_KEY"}],
                    },
                    "ironclad": {"scheme": "ironclad", "secrets": [{"file": str(pem)}]},
                }
            },
        }
    )


@pytest.fixture
def server(settings: Settings) -> Iterator[tuple[str, RecordingDispatcher]]:
    """A real uvicorn on a free loopback port, serving the app bootstrap builds on SQL."""
    dispatcher = RecordingDispatcher()
    container = build_api(settings, dispatcher=dispatcher)
    container.check_ready()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(create_app(container), log_level="warning", access_log=False)
    uvicorn_server = uvicorn.Server(config)
    thread = threading.Thread(target=uvicorn_server.run, kwargs={"sockets": [listener]})
    thread.start()
    deadline = time.monotonic() + 10
    while not uvicorn_server.started:
        assert time.monotonic() < deadline, "uvicorn did not start within 10 s"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}", dispatcher
    uvicorn_server.should_exit = True
    thread.join(10)
    listener.close()
    container.close()


def _send_all(base_url: str, deliveries: list[Delivery], *, race: bool = False) -> list[Outcome]:
    local = threading.local()
    clients: list[httpx.Client] = []
    barriers: dict[str, threading.Barrier] = {}
    if race:
        for delivery in deliveries:
            barriers.setdefault(delivery.key, threading.Barrier(RACE_COPIES))

    def send(delivery: Delivery) -> Outcome:
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=base_url, timeout=30)
            clients.append(local.client)
        headers = {"Content-Type": "application/json", **delivery.sign()}
        if race:
            barriers[delivery.key].wait(timeout=30)  # every copy leaves at the same moment
        started = time.perf_counter()
        response = local.client.post(
            f"/webhooks/{delivery.source}", content=delivery.body, headers=headers
        )
        return Outcome(delivery.key, response.status_code, time.perf_counter() - started)

    workers = RACE_COPIES if race else CLIENT_THREADS
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(send, deliveries))
    finally:
        for client in clients:
            client.close()


def test_a_storm_of_1000_events_with_20_percent_racing_and_resent_duplicates_takes_effect_once(
    server: tuple[str, RecordingDispatcher],
    settings: Settings,
    ironclad_key: rsa.RSAPrivateKey,
) -> None:
    base_url, dispatcher = server
    events = (
        [_standard(n) for n in range(STANDARD_EVENTS)]
        + [_docusign(n) for n in range(DOCUSIGN_EVENTS)]
        + [_ironclad(n, ironclad_key) for n in range(IRONCLAD_EVENTS)]
    )
    raced, calm = events[:RACED_EVENTS], events[RACED_EVENTS:]
    # Copies of one event sit next to each other, so the three race threads take one each.
    race = [delivery for delivery in raced for _ in range(RACE_COPIES)]
    resigned = calm[:RESIGNED]  # Standard Webhooks: same id, new timestamp and signature
    redelivered = calm[-REDELIVERED:]  # DocuSign and Ironclad: byte-identical retries

    started = time.perf_counter()
    outcomes = _send_all(base_url, calm)
    outcomes += _send_all(base_url, race, race=True)
    time.sleep(1.1)  # so every re-signed copy carries a later webhook-timestamp
    outcomes += _send_all(base_url, resigned + redelivered)
    elapsed = time.perf_counter() - started

    assert len(outcomes) == 1200
    statuses = [o.status for o in outcomes]
    assert set(statuses) <= {200, 202}, f"non-2xx answers: {sorted(set(statuses))}"
    assert statuses.count(202) == 1000
    assert statuses.count(200) == 200

    engine = create_engine_for(settings.database.url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(select(func.count()).select_from(inbox)).scalar_one()
            distinct = connection.execute(
                select(func.count()).select_from(
                    select(inbox.c.source, inbox.c.event_id).distinct().subquery()
                )
            ).scalar_one()
            statuses_stored = set(connection.execute(select(inbox.c.status).distinct()).scalars())
    finally:
        engine.dispose()
    assert rows == distinct == 1000
    assert statuses_stored == {InboxStatus.DISPATCHED.value}

    per_workflow = dispatcher.calls_per_workflow()
    assert len(dispatcher.started) == 1000
    assert set(per_workflow.values()) == {1}, "a workflow was asked for more than once"
    assert len(dispatcher.calls) == 1000

    latencies = sorted(o.seconds for o in outcomes)
    p50 = statistics.median(latencies)
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    backend = settings.database.url.split(":", 1)[0]
    print(
        f"\nstorm[{backend}]: {len(outcomes)} requests in {elapsed:.2f} s "
        f"({len(outcomes) / elapsed:.0f} req/s incl. a 1.1 s pause), "
        f"p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms"
    )


def test_forged_stale_replayed_and_altered_webhooks_get_401_and_leave_no_work_in_the_database(
    server: tuple[str, RecordingDispatcher],
    settings: Settings,
    ironclad_key: rsa.RSAPrivateKey,
) -> None:
    base_url, dispatcher = server
    forged_secret = "whsec_" + base64.b64encode(bytes(range(50, 82))).decode()
    body = json.dumps({"id": "evt-x", "type": "opportunity.won"}).encode()
    now = int(time.time())
    valid = standard_webhooks.sign(SECRET, "evt-x", now, body)
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ic_body = _ironclad(1, ironclad_key).body
    ds_body = _docusign(1).body
    attacks = [
        ("salesforce", body, standard_webhooks.sign(forged_secret, "evt-x", now, body)),
        ("salesforce", body, standard_webhooks.sign(SECRET, "evt-x", now - 301, body)),
        ("salesforce", body, standard_webhooks.sign(SECRET, "evt-x", now - 360, body)),
        ("salesforce", body.replace(b"won", b"wan"), valid),
        ("salesforce", body, {k: v for k, v in valid.items() if k != "webhook-signature"}),
        ("docusign", ds_body, docusign_connect.sign(["y" * 40], ds_body)),
        ("ironclad", ic_body, ironclad.sign(attacker, "ic-0001", ic_body, nonce="n")),
    ]
    with httpx.Client(base_url=base_url, timeout=30) as client:
        statuses = [
            client.post(f"/webhooks/{source}", content=content, headers=headers).status_code
            for source, content, headers in attacks
        ]
        accepted = client.post("/webhooks/salesforce", content=body, headers=valid)

    assert statuses == [401] * len(attacks)
    assert accepted.status_code == 202
    engine = create_engine_for(settings.database.url)
    try:
        with engine.connect() as connection:
            stored = connection.execute(select(inbox.c.event_id)).scalars().all()
            rejected = connection.execute(
                select(func.count())
                .select_from(audit_log)
                .where(audit_log.c.action == "webhook.rejected")
            ).scalar_one()
    finally:
        engine.dispose()
    assert stored == ["evt-x"]
    assert rejected == len(attacks)
    assert dispatcher.calls == ["inbox:salesforce:evt-x"]
