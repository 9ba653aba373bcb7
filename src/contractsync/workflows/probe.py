"""Probe workflows: three idempotent external effects, to exercise workers, queues and recovery.

They stand in for real flows in the crash, queue-limit and ambiguous-commit tests, in the
throughput benchmark and in a smoke check of a fresh deployment. Each step writes one effect
to an ``EffectTarget`` (in practice the effect recorder) under the step's idempotency key.
Which client talks to a target URL is decided by the composition root (``bind_targets``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol

from contractsync.errors import ConfigError
from contractsync.workflows.steps import call_idempotently, external_step, workflow

THREE_EFFECTS = "probe.three_effects"
"""Registered name of ``three_effects`` (what a client enqueues)."""

ONE_EFFECT = "probe.one_effect"
"""Registered name of ``one_effect``."""


class EffectTarget(Protocol):
    """An external system that applies effects under idempotency keys."""

    def apply(self, key: str, payload: Any) -> dict[str, Any]:
        """Apply ``payload`` once per ``key``; return the system's record of the effect."""
        ...

    def lookup(self, key: str) -> dict[str, Any] | None:
        """Return the effect recorded under ``key``, or None."""
        ...


_factory: Callable[[str], EffectTarget] | None = None
_targets: dict[str, EffectTarget] = {}
_lock = threading.Lock()


def bind_targets(factory: Callable[[str], EffectTarget]) -> None:
    """Say how to reach a target URL; called once by the composition root."""
    global _factory
    with _lock:
        _factory = factory
        _targets.clear()


def _target(url: str) -> EffectTarget:
    with _lock:
        if url not in _targets:
            if _factory is None:
                raise ConfigError(
                    "probe workflows have no effect target client",
                    remediation="Build the engine with contractsync.bootstrap.build_engine.",
                )
            _targets[url] = _factory(url)
        return _targets[url]


@external_step("probe.apply_effect", max_attempts=8, interval_seconds=0.1, backoff_rate=1.5)
def apply_effect(target_url: str, effect: str) -> dict[str, Any]:
    """Apply the effect named ``effect`` exactly once, resolving ambiguous commits by lookup."""
    target = _target(target_url)
    return call_idempotently(
        lambda key: target.apply(key, {"effect": effect}),
        target.lookup,
    )


@workflow(THREE_EFFECTS)
def three_effects(job: str, target_url: str) -> list[int]:
    """Apply ``<job>/1``, ``<job>/2`` and ``<job>/3`` in order; return their effect ids."""
    return [apply_effect(target_url, f"{job}/{n}")["effect_id"] for n in (1, 2, 3)]


@workflow(ONE_EFFECT)
def one_effect(job: str, target_url: str) -> int:
    """Apply ``<job>/1``; return its effect id."""
    effect_id: int = apply_effect(target_url, f"{job}/1")["effect_id"]
    return effect_id
