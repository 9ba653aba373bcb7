"""The adapter conformance suite: the checks every system adapter passes against its simulator.

Shipped like Singer's ``get_tap_test_class``: an adapter supplies a small *harness* (how to
build the adapter against its simulator or the real system, how to inject a fault, how to
count records) and gets every check of its role for free::

    HARNESSES = {"salesforce": SalesforceHarness}   # a class with role = "customer_directory"

    @pytest.mark.parametrize("case", conformance.cases(HARNESSES), ids=str)
    def test_adapter_conforms(case: conformance.Case) -> None:
        case.run()

Checks: an idempotent write (twice → one record, same ref); paging through more than one
page; a 5xx → ``TransientError``; a throttle → retried with at least the vendor's wait until
it succeeds (after either, the record written exists once); a validation error →
``DataError``; bad credentials → ``ConfigError``; a committed-but-lost write or a timeout →
settled by lookup with no duplicate; the round trip through the vendor's mapping;
``check()`` reporting ok, and not ok without raising; closing a project (closed once, a
second close a no-op with the same ref, read back closed, an unknown project a
``DataError``); and a PSA's project plan read back as the contract planned it. ``cases``
leaves out what a role cannot support (a source has no writes or projects) and what a
harness declares ``not_applicable``, with the reason (``matrix`` lists them all).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from contractsync.adapters.http import RetryPolicy, resolve_ambiguous
from contractsync.domain.identity import ExternalRef
from contractsync.errors import AmbiguousCommitError, ConfigError, DataError, TransientError
from contractsync.testing.conformance_projects import check_close_project, check_project_plan
from contractsync.testing.conformance_roles import (
    DRIVERS,
    ContractSourceHarness,
    CustomerDirectoryHarness,
    Driver,
    Fault,
    FinancialSystemHarness,
    Harness,
    ProjectTrackerHarness,
    Role,
    SignatureSourceHarness,
)


def _key() -> str:
    return f"conf-{uuid.uuid4().hex[:12]}"


def _raises(error: type[Exception], call: Callable[[], object]) -> Exception:
    try:
        call()
    except error as caught:
        return caught
    raise AssertionError(f"expected {error.__name__}, nothing (or another error) was raised")


def _settles_inside(harness: Any) -> bool:
    """True for adapters that retry 5xx and settle lost writes themselves (``settles_faults``).

    Both behaviours honour the port contract: either the caller sees ``TransientError`` /
    ``AmbiguousCommitError`` and settles, or the adapter does and the caller sees success.
    What no adapter may do is leave a duplicate.
    """
    return bool(getattr(harness, "settles_faults", False))


def _write(driver: Driver) -> Callable[[Any, Any, str], ExternalRef]:
    assert driver.write is not None
    return driver.write


def check_idempotent_write(harness: Any, driver: Driver) -> None:
    """Writing the same business key twice gives one record and the same ref."""
    adapter, key = harness.build(), _key()
    first, second = _write(driver)(adapter, harness, key), _write(driver)(adapter, harness, key)
    assert first == second, f"{first} != {second}"
    assert harness.count_records(driver.kind, key) == 1


def check_paging(harness: Any, driver: Driver) -> None:
    """A listing of more than one page is walked to the end, every record exactly once."""
    assert driver.listing is not None
    assert driver.seed is not None
    adapter = harness.build()
    expected = driver.seed(adapter, harness, [_key() for _ in range(harness.page_size * 2 + 1)])
    seen: list[Any] = []
    cursor, pages = None, 0
    while True:
        page = driver.listing(adapter, cursor, harness.page_size)
        seen.extend(page.items)
        pages += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
        assert pages < 10_000, "the listing never ends"
    assert pages >= 2, "the listing fit on one page; the harness must make it page"
    assert len(seen) == len(set(map(str, seen))), "a record was listed twice"
    found = set(map(str, seen))
    missing = [item for item in expected if str(item) not in found and not _is_event_id(item, seen)]
    assert not missing, f"not listed: {missing[:5]}"


def _is_event_id(item: Any, seen: list[Any]) -> bool:
    return isinstance(item, str) and any(getattr(s, "event_id", None) == item for s in seen)


def check_server_error_is_transient(harness: Any, driver: Driver) -> None:
    """A vendor 5xx is a ``TransientError``; the next call succeeds."""
    adapter = harness.build()
    driver.probe(adapter, harness, _key())  # authenticate first: faults target the API
    key = _key()
    harness.inject("server_error")
    if _settles_inside(harness):
        driver.probe(adapter, harness, key)  # the adapter retried the 5xx itself
    else:
        _raises(TransientError, lambda: driver.probe(adapter, harness, key))
        driver.probe(adapter, harness, key)
    _landed_once(harness, driver, key)


def _landed_once(harness: Any, driver: Driver, key: str) -> None:
    """The probe's record exists exactly once after the faults (when the probe writes)."""
    if driver.probe_kind is not None:
        count = harness.count_records(driver.probe_kind, key)
        assert count == 1, f"{count} {driver.probe_kind} records for {key}"


def check_rate_limit_is_retried(harness: Any, driver: Driver) -> None:
    """A throttle is retried after at least the vendor's wait, until the call succeeds."""
    adapter, key = harness.build(), _key()
    driver.probe(adapter, harness, _key())
    harness.inject("rate_limit", times=2)
    waits: list[float] = []
    RetryPolicy(max_attempts=5, base=0.001, cap=0.001).run(
        lambda: driver.probe(adapter, harness, key), sleep=waits.append
    )
    assert len(waits) == 2, f"expected 2 waits, got {waits}"
    if harness.expected_retry_after is not None:
        assert min(waits) >= harness.expected_retry_after, f"waited {waits}"
    _landed_once(harness, driver, key)


def check_validation_error_is_data_error(harness: Any, driver: Driver) -> None:
    """A refusal of the record's content is a ``DataError`` (a human fixes the data)."""
    adapter, key = harness.build(), _key()
    driver.probe(adapter, harness, _key())
    harness.inject("validation_error")
    _raises(DataError, lambda: driver.probe(adapter, harness, key))
    if driver.probe_kind is not None:
        assert harness.count_records(driver.probe_kind, key) == 0, "a refused record was kept"


def check_bad_credentials_are_config_error(harness: Any, driver: Driver) -> None:
    """Refused credentials are a ``ConfigError`` (never retried)."""
    adapter = harness.build(credentials="invalid")
    _raises(ConfigError, lambda: driver.probe(adapter, harness, _key()))


def _settle(driver: Driver, adapter: Any, harness: Any, key: str) -> ExternalRef:
    assert driver.find is not None
    find = driver.find
    return resolve_ambiguous(
        lambda: _write(driver)(adapter, harness, key), lambda: find(adapter, harness, key)
    )


def check_lost_response_creates_no_duplicate(harness: Any, driver: Driver) -> None:
    """A committed write whose answer was lost is found by lookup; no second record."""
    adapter, key = harness.build(), _key()
    driver.probe(adapter, harness, _key())
    harness.inject("lost_response")
    if _settles_inside(harness):
        # The adapter looked the record up itself before writing again.
        ref = _write(driver)(adapter, harness, key)
        assert harness.count_records(driver.kind, key) == 1
        assert _write(driver)(adapter, harness, key) == ref
        return
    _raises(AmbiguousCommitError, lambda: _write(driver)(adapter, harness, key))
    harness.inject("lost_response")
    ref = _settle(driver, adapter, harness, key)
    assert harness.count_records(driver.kind, key) == 1
    assert _settle(driver, adapter, harness, key) == ref


def check_timeout_is_settled_without_duplicate(harness: Any, driver: Driver) -> None:
    """A write that timed out is settled by lookup and a single rewrite."""
    adapter, key = harness.build(), _key()
    driver.probe(adapter, harness, _key())
    harness.inject("timeout")
    _settle(driver, adapter, harness, key)
    assert harness.count_records(driver.kind, key) == 1


def check_round_trip(harness: Any, driver: Driver) -> None:
    """A record reads back through the vendor mapping as it was written."""
    driver.round_trip(harness.build(), harness, _key())


def check_health_ok(harness: Any, driver: Driver) -> None:
    """``check()`` reports a reachable, authenticated system as ok."""
    health = harness.build().check()
    assert health.ok, health.detail
    assert health.system == harness.system


def check_health_not_ok(harness: Any, driver: Driver) -> None:
    """``check()`` reports bad credentials and an unreachable system without raising."""
    for adapter in (harness.build(credentials="invalid"), harness.build_unreachable()):
        health = adapter.check()
        assert not health.ok, health
        assert health.detail


Check = Callable[[Any, Driver], None]
CHECKS: dict[str, Check] = {
    "idempotent_write": check_idempotent_write,
    "paging": check_paging,
    "server_error_is_transient": check_server_error_is_transient,
    "rate_limit_is_retried": check_rate_limit_is_retried,
    "validation_error_is_data_error": check_validation_error_is_data_error,
    "bad_credentials_are_config_error": check_bad_credentials_are_config_error,
    "lost_response_creates_no_duplicate": check_lost_response_creates_no_duplicate,
    "timeout_is_settled_without_duplicate": check_timeout_is_settled_without_duplicate,
    "round_trip": check_round_trip,
    "health_ok": check_health_ok,
    "health_not_ok": check_health_not_ok,
    "close_project": check_close_project,
    "project_plan": check_project_plan,
}
_NEEDS_WRITE = {
    "idempotent_write",
    "lost_response_creates_no_duplicate",
    "timeout_is_settled_without_duplicate",
}


@dataclass(frozen=True, slots=True)
class Case:
    """One check against one adapter; ``run()`` builds a fresh harness and closes it."""

    name: str
    check: str
    factory: Callable[[], Any]

    def run(self) -> None:
        """Run the check."""
        harness = self.factory()
        try:
            CHECKS[self.check](harness, DRIVERS[harness.role])
        finally:
            harness.close()

    def __str__(self) -> str:
        return f"{self.name}-{self.check}"


def not_applicable(role: Role, check: str, harness: Any = None) -> str | None:
    """Why ``check`` does not apply to ``role`` or to one harness, or None when it does.

    Args:
        role: The port the adapter implements; some roles cannot support a check (a source
            has no writes, the ERP port has no listing).
        check: A name from ``CHECKS``.
        harness: The harness class (or factory); its ``not_applicable`` mapping of check
            name to reason opts a system out of a check its vendor has no equivalent for.

    Returns:
        The reason, or None when the check runs.
    """
    driver = DRIVERS[role]
    if check in _NEEDS_WRITE and (driver.write is None or driver.find is None):
        return f"the {role} port has no idempotent write"
    if check == "paging" and driver.listing is None:
        return f"the {role} port has no listing"
    if check == "close_project" and driver.is_closed is None:
        return f"the {role} port has no projects"
    if check == "project_plan" and driver.plan is None:
        return f"the {role} port has no project plans"
    reasons: Mapping[str, str] = getattr(harness, "not_applicable", {})
    return reasons.get(check)


def applies(role: Role, check: str, harness: Any = None) -> bool:
    """True when ``check`` makes sense for ``role`` and, if given, for ``harness``."""
    return not_applicable(role, check, harness) is None


def matrix(harnesses: Mapping[str, Callable[[], Any]]) -> dict[str, dict[str, str | None]]:
    """Harness name -> check -> None when it runs, else why it does not apply."""
    table: dict[str, dict[str, str | None]] = {}
    for name, factory in harnesses.items():
        role: Role = factory.role  # type: ignore[attr-defined]
        table[name] = {check: not_applicable(role, check, factory) for check in CHECKS}
    return table


def cases(harnesses: Mapping[str, Callable[[], Any]]) -> list[Case]:
    """Every applicable check for every harness, for ``pytest.mark.parametrize``.

    Args:
        harnesses: Name -> a harness class (or factory) with a ``role`` attribute, so the
            applicable checks are known without building it.

    Returns:
        The cases, named ``<harness>-<check>``.
    """
    return [
        Case(name, check, factory)
        for name, factory in harnesses.items()
        for check in CHECKS
        if applies(factory.role, check, factory)  # type: ignore[attr-defined]
    ]


__all__ = [
    "CHECKS",
    "DRIVERS",
    "Case",
    "ContractSourceHarness",
    "CustomerDirectoryHarness",
    "Driver",
    "Fault",
    "FinancialSystemHarness",
    "Harness",
    "ProjectTrackerHarness",
    "Role",
    "SignatureSourceHarness",
    "applies",
    "cases",
    "matrix",
    "not_applicable",
]
