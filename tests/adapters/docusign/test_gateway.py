"""DocuSignSignatureSource against the simulator: fetch, paging, limits, credentials, check()."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from contractsync.adapters.docusign import DocuSignSignatureSource
from contractsync.adapters.docusign.client import DocuSignClient
from contractsync.domain.identity import ExternalRef
from contractsync.errors import ConfigError, DataError, TransientError
from contractsync.simulators.docusign import DocuSignSimulator
from tests.adapters.docusign.conftest import Clock, create, settings


@pytest.fixture
def source(
    sim: DocuSignSimulator, integration_key: rsa.RSAPrivateKey, clock: Clock
) -> Iterator[Callable[..., DocuSignSignatureSource]]:
    transports: list[Any] = []

    def build(target: DocuSignSimulator | None = None, **overrides: Any) -> DocuSignSignatureSource:
        transports.append((target or sim).transport())
        config = settings(integration_key, **overrides)
        client = DocuSignClient(config, transport=transports[-1], clock=clock)
        return DocuSignSignatureSource(client, config, today=lambda: dt.date(2025, 10, 9))

    yield build
    for transport in transports:
        transport.close()


def envelope(envelope_id: str) -> ExternalRef:
    return ExternalRef(system="docusign", kind="envelope", id=envelope_id)


def test_a_completed_envelope_gives_the_contract_and_completion_time(
    sim: DocuSignSimulator, source: Callable[..., DocuSignSignatureSource], clock: Clock
) -> None:
    with sim.client() as http:
        envelope_id = create(http, "SOW-2025-0142")
        http.post("/_sim/scenarios/complete_envelope", json={"envelope_id": envelope_id})
    found = source().fetch_signature(envelope(envelope_id))
    assert found.contract_id == "SOW-2025-0142"
    assert found.status == "completed"
    assert found.completed_at == dt.datetime.fromtimestamp(clock.now, dt.UTC)


def test_an_envelope_with_another_custom_field_is_a_data_error_naming_ours(
    sim: DocuSignSimulator, source: Callable[..., DocuSignSignatureSource]
) -> None:
    with sim.client() as http:
        envelope_id = create(http, "SOW-1", custom_field="dealId")
    with pytest.raises(DataError) as caught:
        source().fetch_signature(envelope(envelope_id))
    assert caught.value.detail["field"] == "contractId"
    assert (
        source(contract_field="dealId").fetch_signature(envelope(envelope_id)).contract_id
        == "SOW-1"
    )


def test_an_unknown_envelope_is_a_data_error_with_the_vendor_code(
    source: Callable[..., DocuSignSignatureSource],
) -> None:
    with pytest.raises(DataError) as caught:
        source().fetch_signature(envelope("00000000-0000-0000-0000-000000000000"))
    assert caught.value.detail["vendor_code"] == "ENVELOPE_DOES_NOT_EXIST"


def test_listing_walks_completed_envelopes_page_by_page(
    sim: DocuSignSimulator, source: Callable[..., DocuSignSignatureSource]
) -> None:
    with sim.client() as http:
        ids = [create(http, f"SOW-{n}") for n in range(5)]
        for envelope_id in ids[1:]:
            http.post("/_sim/scenarios/complete_envelope", json={"envelope_id": envelope_id})
    adapter, seen, cursor = source(), [], None
    while True:
        page = adapter.list_signatures(cursor=cursor, limit=2)
        seen += [r.id for r in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == ids[1:]


def test_a_spent_hourly_allowance_waits_for_the_top_of_the_hour(
    make_sim: Callable[..., DocuSignSimulator], source: Callable[..., DocuSignSignatureSource]
) -> None:
    limited = make_sim(hourly_limit=1)
    adapter = source(limited)
    adapter.list_signatures(cursor=None, limit=2)
    with pytest.raises(TransientError) as caught:
        adapter.list_signatures(cursor=None, limit=2)
    assert caught.value.retry_after == 3000  # the clock is 10 minutes into the hour
    assert caught.value.detail["vendor_code"] == "HOURLY_APIINVOCATION_LIMIT_EXCEEDED"


@pytest.mark.parametrize("status", [429, 400])
def test_a_spent_burst_is_transient_whatever_the_status(
    make_sim: Callable[..., DocuSignSimulator],
    source: Callable[..., DocuSignSignatureSource],
    status: int,
) -> None:
    adapter = source(make_sim(burst_limit=1, limit_status=status))
    adapter.list_signatures(cursor=None, limit=2)
    with pytest.raises(TransientError) as caught:
        adapter.list_signatures(cursor=None, limit=2)
    assert caught.value.retry_after == 30.0


def test_a_foreign_key_or_an_unknown_account_is_a_config_error(
    source: Callable[..., DocuSignSignatureSource],
) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    from tests.adapters.docusign.conftest import private_pem

    with pytest.raises(ConfigError) as refused:
        source(private_key=private_pem(other)).list_signatures(cursor=None, limit=2)
    with pytest.raises(ConfigError) as unknown:
        source(account_id="11111111-2222").list_signatures(cursor=None, limit=2)
    assert refused.value.code == "docusign.auth_refused"
    assert unknown.value.code == "docusign.account_unknown"


def test_a_foreign_cursor_is_a_data_error(source: Callable[..., DocuSignSignatureSource]) -> None:
    with pytest.raises(DataError):
        source().list_signatures(cursor="page:2:10", limit=2)


def test_check_reports_the_hourly_allowance_left(
    source: Callable[..., DocuSignSignatureSource],
) -> None:
    health = source().check()
    assert health.ok
    assert health.detail == "2999 API calls left this hour"


def test_connect_deliveries_read_as_signature_events_deduplicated_by_the_verifier(
    make_sim: Callable[..., DocuSignSimulator], listener: Any
) -> None:
    from contractsync.adapters.docusign.webhooks import read_event_body
    from contractsync.adapters.signatures import DocuSignConnectVerifier
    from contractsync.simulators import FaultPlan
    from tests.adapters.docusign.conftest import KEYS, LISTENER

    sim = make_sim(faults=FaultPlan(seed=1, duplicate_webhook_rate=1.0, reorder_webhooks=True))
    with sim.client() as http:
        http.post("/_sim/scenarios/configure_connect", json={"url": LISTENER, "hmac_keys": KEYS})
        envelope_id = create(http, "SOW-2025-0187")
        http.post("/_sim/scenarios/complete_envelope", json={"envelope_id": envelope_id})
    sim.webhooks.drain()
    verifier = DocuSignConnectVerifier(KEYS)
    events = {}
    for request in listener.requests:
        event_id = verifier.verify(dict(request.headers), request.content).event_id
        events[event_id] = read_event_body(request.content, event_id=event_id)
    assert len(listener.requests) == 4
    assert sorted(e.event for e in events.values()) == ["envelope-completed", "envelope-sent"]
    completed = next(e for e in events.values() if e.is_completed)
    assert completed.contract_id == "SOW-2025-0187"
    assert completed.envelope.id == envelope_id
    assert completed.completed_at is not None
