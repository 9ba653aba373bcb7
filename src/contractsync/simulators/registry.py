"""Which simulators exist: one line per vendor, imported only when asked for."""

from __future__ import annotations

import importlib
from typing import Any

from contractsync.errors import ConfigError
from contractsync.simulators.app import Simulator

SIMULATORS: dict[str, str] = {
    # vendor name -> "module:class"; add a vendor with one line here.
    "salesforce": "contractsync.simulators.salesforce:SalesforceSimulator",
    "netsuite": "contractsync.simulators.netsuite:NetSuiteSimulator",
    "kantata": "contractsync.simulators.kantata:KantataSimulator",
    "ironclad": "contractsync.simulators.ironclad:IroncladSimulator",
    "docusign": "contractsync.simulators.docusign:DocuSignSimulator",
}
"""Every shipped simulator, by the name ``contractsync sim --vendor`` takes."""


def simulator_class(vendor: str) -> type[Simulator]:
    """Import and return the simulator class registered as ``vendor``.

    Raises:
        ConfigError: No simulator has that name.
    """
    try:
        target = SIMULATORS[vendor]
    except KeyError:
        raise ConfigError(
            f"no simulator is called {vendor!r}",
            code="config.simulator_unknown",
            remediation=f"Use one of: {', '.join(sorted(SIMULATORS))}.",
        ) from None
    module_name, _, class_name = target.partition(":")
    cls: type[Simulator] = getattr(importlib.import_module(module_name), class_name)
    return cls


def build_simulator(vendor: str, **options: Any) -> Simulator:
    """Build a fresh simulator of ``vendor``; ``options`` go to its constructor.

    Raises:
        ConfigError: No simulator has that name.
    """
    return simulator_class(vendor)(**options)


__all__ = ["SIMULATORS", "build_simulator", "simulator_class"]
