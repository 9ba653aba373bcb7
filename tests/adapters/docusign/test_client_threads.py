"""One DocuSign client shared by concurrent workflow steps (the hub's embedded worker does this)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from contractsync.adapters.docusign.client import DocuSignClient
from contractsync.simulators.docusign import DocuSignSimulator
from tests.adapters.docusign.conftest import Clock, create, settings


class SlowUserinfo(httpx.BaseTransport):
    """The simulator, with the account lookup slowed as a busy DocuSign would answer it."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self._inner = inner
        self.userinfo_calls = 0
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/userinfo"):
            with self._lock:
                self.userinfo_calls += 1
            time.sleep(0.2)
        return self._inner.handle_request(request)


def test_threads_sharing_a_fresh_client_all_reach_the_account(
    sim: DocuSignSimulator, integration_key: rsa.RSAPrivateKey, clock: Clock
) -> None:
    with sim.client() as operator:
        envelope = create(operator, "K-THREADS")
    transport = SlowUserinfo(sim.transport())
    client = DocuSignClient(settings(integration_key), transport=transport, clock=clock)

    def read(_: int) -> str:
        return str(client.get_json(f"/envelopes/{envelope}")["envelopeId"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(read, range(8)))

    assert answers == [envelope] * 8
    assert transport.userinfo_calls == 1
    client.close()
