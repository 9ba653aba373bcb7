"""Vendor simulators: stateful, fault-injecting stand-ins for each system, like a local cloud.

Each simulator speaks one vendor's wire format, keeps state, and injects faults on request.
Mount one in process (``sim.client()`` or ``httpx.Client(transport=sim.transport())``), or
serve it for real with ``contractsync sim --vendor NAME --port N``. Every simulator also
serves the operator API under ``/_sim`` (``operator.py``): reset, faults, scenario drivers
such as "close this opportunity as won", and a state dump for assertions.

Adding a vendor: subclass ``Simulator`` (``app.py``) and add one line to ``SIMULATORS``
(``registry.py``).
"""

from contractsync.simulators.app import Scenario, Simulator
from contractsync.simulators.faults import FaultInjector, FaultKind, FaultPlan
from contractsync.simulators.registry import SIMULATORS, build_simulator, simulator_class
from contractsync.simulators.transport import AsyncSimulatorTransport, SimulatorTransport
from contractsync.simulators.webhooks_out import OutboundWebhooks, standard_webhooks_signer

__all__ = [
    "SIMULATORS",
    "AsyncSimulatorTransport",
    "FaultInjector",
    "FaultKind",
    "FaultPlan",
    "OutboundWebhooks",
    "Scenario",
    "Simulator",
    "SimulatorTransport",
    "build_simulator",
    "simulator_class",
    "standard_webhooks_signer",
]
