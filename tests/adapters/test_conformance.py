"""Every registered adapter passes the shipped conformance suite against its simulator.

Register an adapter by adding its harness class (with a ``role`` attribute) to HARNESSES.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from contractsync.testing import conformance
from tests.adapters.netsuite.harness import NetSuiteHarness

HARNESSES: dict[str, Callable[[], Any]] = {
    "netsuite": NetSuiteHarness,
}


@pytest.mark.parametrize("case", conformance.cases(HARNESSES), ids=str)
def test_adapter_conforms(case: conformance.Case) -> None:
    case.run()


@pytest.mark.parametrize("check", READ_CHECKS)
def test_signature_source_conforms(check: str) -> None:
    """DocuSign implements SignatureSource, a read-only role: the suite's read checks."""
    harness = DocuSignHarness()
    try:
        conformance.CHECKS[check](harness, SIGNATURE_SOURCE)
    finally:
        harness.close()
