"""The Tryton adapter's conformance harness: the gateway against a real trytond on loopback.

Nothing is simulated: one provisioned SQLite database is served by a real ``trytond`` for
every conformance case of the test process, and the suite's faults are injected by
``contractsync.testing.faulty_transport`` in front of it:

====================  ===========================================================
suite fault           what Tryton's traffic gets
====================  ===========================================================
``server_error``      the next call (logins excepted) is answered 503, unsent
``lost_response``     the next write is committed by trytond, its reply then lost
``timeout``           the same: trytond has run the write when the client gives up
``validation_error``  the next customer handed out has a tab in its name, which
                      Tryton's ``Char`` fields refuse (no transport fault needed)
``rate_limit``        not applicable (``not_applicable`` below)
====================  ===========================================================

Tryton has no API throttle: its only 429 answers repeated failed logins
(``session.max_attempt``), a credentials problem the suite checks as bad credentials, and
the gateway retries any 429 or 5xx internally (``settles_faults``), so no throttle can
reach the caller for the rate-limit check to time its waits.
"""

from __future__ import annotations

import atexit
import json
import shutil
import tempfile
import uuid
from collections import deque
from pathlib import Path
from typing import Any, ClassVar, Literal

import httpx
from pydantic import SecretStr

from contractsync.adapters.tryton.client import TrytonClient, is_write_method
from contractsync.adapters.tryton.config import TrytonSettings
from contractsync.adapters.tryton.gateway import TrytonFinancialSystem
from contractsync.adapters.tryton.mapping import invoice_reference
from contractsync.adapters.tryton.provisioning import provision
from contractsync.adapters.tryton.server import TrytonServer, free_port
from contractsync.adapters.tryton.site import TrytonSite
from contractsync.domain.contract import Contract
from contractsync.domain.customer import Customer
from contractsync.domain.identity import ExternalRef
from contractsync.domain.money import Money
from contractsync.domain.project import Project
from contractsync.testing.conformance import Fault, Role
from contractsync.testing.faulty_transport import FaultyTransport
from tests.adapters.tryton.samples import Samples, gateway_settings

# Logging in is authentication, which the suite's faults never target.
_AUTHENTICATION = frozenset({"common.db.login", "model.res.user.get_preferences"})
_RATE_LIMIT_REASON = (
    "Tryton has no API throttle: its only 429 answers repeated failed logins, and the "
    "gateway retries 429 and 5xx itself, so no throttle reaches the caller to be timed"
)


class SharedTryton:
    """One provisioned database served by one trytond for every harness of the process.

    Started on first use (provisioning is a file copy once the template is cached) and
    stopped when the interpreter exits, so the conformance cases pay the start once.
    """

    _settings: TrytonSettings | None = None
    _server: TrytonServer | None = None
    _root: Path | None = None
    invoice_target: tuple[str, Money] | None = None
    """A contract ready to invoice, seeded once (each case invoices it under fresh keys)."""

    @classmethod
    def settings(cls) -> TrytonSettings:
        """Settings that log in to the shared server, starting it on the first call."""
        if cls._settings is None:
            cls._root = Path(tempfile.mkdtemp(prefix="contractsync-tryton-conformance-"))
            provisioned = provision(TrytonSite(cls._root, "conformance"), force=True)
            cls._server = TrytonServer(provisioned.site).start()
            atexit.register(cls.stop)
            cls._settings = gateway_settings(provisioned.settings(cls._server.url))
        return cls._settings

    @classmethod
    def stop(cls) -> None:
        """Stop the server and remove its database."""
        if cls._server is not None:
            cls._server.stop()
        if cls._root is not None:
            shutil.rmtree(cls._root, ignore_errors=True)
        cls._settings, cls._server, cls._root = None, None, None
        cls.invoice_target = None


def _rpc_method(request: httpx.Request) -> str:
    return str(json.loads(request.content).get("method", ""))


class ScriptedFaults(httpx.BaseTransport):
    """Sends the next requests through a ``FaultyTransport`` that always faults, as scripted.

    The script is the harness's and shared by every adapter it built. A 503 takes the next
    call; a lost reply waits for the next write, since a read's lost reply is no ambiguity.

    Args:
        inner: The transport that reaches trytond.
        script: The faults still to inject, in order.
    """

    def __init__(self, inner: httpx.BaseTransport, script: deque[Fault]) -> None:
        self.inner = inner
        self.script = script
        self.unavailable = FaultyTransport(inner, error_rate=1.0)
        self.lost = FaultyTransport(inner, lost_rate=1.0, is_write=lambda _r: True)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Forward ``request``, through the faulty transport when the script says so."""
        method = _rpc_method(request)
        fault = self.script[0] if self.script and method not in _AUTHENTICATION else None
        if fault == "server_error":
            self.script.popleft()
            return self.unavailable.handle_request(request)
        if fault in ("lost_response", "timeout") and is_write_method(method):
            self.script.popleft()
            return self.lost.handle_request(request)
        return self.inner.handle_request(request)

    def close(self) -> None:
        """Close the connection pool to trytond."""
        self.inner.close()


class TrytonHarness:
    """Builds ``TrytonFinancialSystem`` against the shared real trytond.

    The gateway retries 503s and settles lost writes by lookup itself (``settles_faults``).
    Records are keyed by fresh keys, so cases sharing the database never see each other's.
    """

    system = "tryton"
    role: ClassVar[Role] = "financial_system"
    expected_retry_after = None
    page_size = 3
    settles_faults = True
    not_applicable: ClassVar[dict[str, str]] = {"rate_limit_is_retried": _RATE_LIMIT_REASON}

    def __init__(self) -> None:
        self.settings = SharedTryton.settings()
        self._script: deque[Fault] = deque()
        self._refuse_next = 0
        self._clients: list[TrytonClient] = []
        # The harness's own view of Tryton: it seeds and counts without meeting the faults.
        self._clean = self._gateway(self.settings, httpx.HTTPTransport())

    def _gateway(
        self, settings: TrytonSettings, transport: httpx.BaseTransport
    ) -> TrytonFinancialSystem:
        client = TrytonClient(settings, transport=transport)
        self._clients.append(client)
        return TrytonFinancialSystem(client, settings, sleep=lambda _s: None)

    def build(self, *, credentials: Literal["valid", "invalid"] = "valid") -> TrytonFinancialSystem:
        settings = self.settings
        if credentials == "invalid":
            settings = settings.model_copy(update={"password": SecretStr("not-the-password")})
        return self._gateway(settings, ScriptedFaults(httpx.HTTPTransport(), self._script))

    def build_unreachable(self) -> TrytonFinancialSystem:
        # A port just found free on loopback: nothing listens, the connection is refused.
        closed = self.settings.model_copy(update={"url": f"http://127.0.0.1:{free_port()}"})
        return self._gateway(closed, httpx.HTTPTransport())

    def inject(self, fault: Fault, *, times: int = 1) -> None:
        if fault == "rate_limit":
            raise AssertionError(_RATE_LIMIT_REASON)
        if fault == "validation_error":
            self._refuse_next += times
            return
        self._script.extend([fault] * times)

    def count_records(self, kind: str, key: str) -> int:
        client = self._clean.client
        if kind == "invoice":
            contract_id, _ = self._invoice_target()
            reference = invoice_reference(contract_id, key)
            domain = [("reference", "=", reference), ("type", "=", "out")]
            return client.search_count("account.invoice", domain)
        assert kind == "customer", kind
        any_active = ["OR", ("active", "=", True), ("active", "=", False)]
        return client.search_count("party.party", [("code", "=", key), any_active])

    def customer(self, key: str) -> Customer:
        customer = Samples.customer(key).model_copy(update={"id": key})
        if self._refuse_next:
            self._refuse_next -= 1
            # Valid for the hub, refused by Tryton: Char fields forbid tabs and newlines.
            return customer.model_copy(update={"legal_name": f"Tab\tseparated {key}"})
        return customer

    def upsert_customer(self, adapter: Any, customer: Customer) -> ExternalRef:
        ref: ExternalRef = adapter.upsert_customer(customer, legal_entity=Samples.entity)
        return ref

    def invoice_target(self, adapter: Any) -> tuple[str, Any]:
        return self._invoice_target()

    def open_project(self, adapter: Any, key: str) -> tuple[Project, Contract]:
        project, contract = Samples.project(key), Samples.contract(key, with_tm=False)
        adapter.upsert_customer(Samples.customer(key), legal_entity=Samples.entity)
        adapter.upsert_project(project, contract)
        return project, contract

    def _invoice_target(self) -> tuple[str, Money]:
        # Seeded through the harness's own gateway, so the faults are left for the calls
        # under test; the first invoice also creates the billing product, so a lost write
        # then hits the invoice itself.
        if SharedTryton.invoice_target is None:
            tag = uuid.uuid4().hex[:8].upper()
            contract = Samples.contract(tag, with_tm=False)
            self._clean.upsert_customer(Samples.customer(tag), legal_entity=Samples.entity)
            self._clean.upsert_project(Samples.project(tag), contract)
            self._clean.create_invoice(contract.id, invoice_key="seed", amount=Samples.eur("1"))
            SharedTryton.invoice_target = (contract.id, Samples.eur("960"))
        return SharedTryton.invoice_target

    def close(self) -> None:
        for client in self._clients:
            client.close()
