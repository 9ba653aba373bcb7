"""The ``Simulator`` base class: vendor routes, operator API, faults and webhooks in one ASGI app.

A vendor simulator subclasses ``Simulator`` and supplies four things: ``vendor_routes()``
(its wire protocol), ``fault_responses()`` (its own 5xx, throttle and validation bodies),
``reset_state()``/``dump_state()`` (its records), and optionally ``scenarios()`` (operator
drivers such as "approve this contract") and ``webhook_signer()``. The base class builds one
FastAPI app from them::

    sim = SalesforceSimulator(faults=FaultPlan(seed=7, server_error_rate=0.2))
    http = sim.client()                      # httpx.Client mounted in process
    uvicorn.run(sim.app, port=8101)          # or a real server (``contractsync sim``)

Every simulator answers the operator API under ``/_sim`` (see ``operator.py``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

import httpx
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel

from contractsync.errors import ConfigError
from contractsync.simulators.faults import (
    ASGIApp,
    FaultInjector,
    FaultPlan,
    FaultResponses,
)
from contractsync.simulators.middleware import FaultMiddleware
from contractsync.simulators.operator import operator_router
from contractsync.simulators.transport import SimulatorTransport
from contractsync.simulators.webhooks_out import OutboundWebhooks, Signer


@dataclass(frozen=True, slots=True)
class Scenario:
    """An operator driver: ``POST /_sim/scenarios/{name}`` with a ``body`` JSON document.

    Attributes:
        name: The path segment (``close_won_opportunity``).
        description: One sentence shown by ``GET /_sim``.
        body: The pydantic model the JSON body is validated against.
        run: Does it; returns a JSON-ready result (ids of what was created ...).
    """

    name: str
    description: str
    body: type[BaseModel]
    run: Callable[[Any], dict[str, Any]]


class Simulator(ABC):
    """A stateful, fault-injecting stand-in for one vendor's HTTP API.

    Args:
        faults: The run's initial fault plan (``POST /_sim/reset`` returns to it).
        webhook_client: Sends outbound webhooks; defaults to a plain ``httpx.Client``.
        webhook_retry_delays: Seconds between webhook retries.
    """

    vendor: ClassVar[str]
    """The registry name and ``contractsync sim --vendor`` value."""
    title: ClassVar[str] = ""

    def __init__(
        self,
        *,
        faults: FaultPlan | None = None,
        webhook_client: httpx.Client | None = None,
        webhook_retry_delays: Sequence[float] = (1.0, 5.0, 30.0, 120.0),
    ) -> None:
        self.injector = FaultInjector(faults)
        self.webhooks = OutboundWebhooks(
            injector=self.injector,
            signer_factory=self.webhook_signer,
            client=webhook_client,
            retry_delays=webhook_retry_delays,
        )

    @abstractmethod
    def vendor_routes(self) -> APIRouter:
        """The vendor's wire protocol as a router."""

    @abstractmethod
    def fault_responses(self) -> FaultResponses:
        """The vendor's shapes of synthetic failures."""

    @abstractmethod
    def reset_state(self) -> None:
        """Forget every record, as a fresh org or tenant."""

    @abstractmethod
    def dump_state(self) -> dict[str, Any]:
        """Every record, JSON-ready, for assertions (``GET /_sim/state``)."""

    def scenarios(self) -> Sequence[Scenario]:
        """The operator drivers this vendor offers; none by default."""
        return ()

    def webhook_signer(self, secret: str) -> Signer:
        """The vendor's signer for one subscription secret.

        Raises:
            ConfigError: The vendor sends no webhooks (it is polled), so none can be subscribed.
        """
        raise ConfigError(
            f"the {self.vendor} simulator sends no webhooks",
            code="simulator.no_webhooks",
            remediation="Drop --webhook-url for this vendor; the hub polls it instead.",
        )

    def reset(self) -> None:
        """Back to the start of the run: no records, the initial faults, no webhooks."""
        self.reset_state()
        self.injector.reset()
        self.webhooks.reset()

    @cached_property
    def app(self) -> ASGIApp:
        """The ASGI app: operator API, then the vendor routes behind the fault middleware."""
        api = FastAPI(
            title=self.title or f"{self.vendor} simulator",
            description="A contractsync simulator; operator API under /_sim.",
            docs_url="/_sim/docs",
            openapi_url="/_sim/openapi.json",
            redoc_url=None,
        )
        api.include_router(operator_router(self))
        api.include_router(self.vendor_routes())
        return FaultMiddleware(api, self.injector, self.fault_responses())

    def client(self, base_url: str | None = None, **kwargs: Any) -> httpx.Client:
        """An ``httpx.Client`` served by this simulator in process (no socket)."""
        return httpx.Client(
            transport=SimulatorTransport(self.app),
            base_url=base_url or f"https://{self.vendor}.simulator.invalid",
            **kwargs,
        )

    def transport(self) -> SimulatorTransport:
        """A synchronous in-process transport to hand to an adapter's client."""
        return SimulatorTransport(self.app)


__all__ = ["Scenario", "Simulator"]
