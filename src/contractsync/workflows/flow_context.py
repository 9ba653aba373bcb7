"""What the contract flows run with, and the waits and child starts every flow shares.

The composition root binds one ``FlowContext`` per process (``bind_flows``) before the
engine launches: the hub database, the systems by role, reference data, the policy and the
readers of each inbound source. Steps read it through ``flow_context()``; nothing here is
global state a workflow's outcome depends on, only where its steps reach.

Waits are durable and polled: a run waits on a topic with ``wait_for_decision`` for at most
``decision_poll_seconds``, then reads the state it waits for (its ExceptionItems, the stored
contract version) in a step. A message sent on the topic wakes it at once; without one the
next poll finds the change. An owner's resolve or dismiss through the API or the CLI sends
one once committed (``services.decision_delivery``); the poll is the safety net.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ParamSpec, TypeVar

from dbos import DBOS, SetWorkflowID
from dbos import error as dbos_error
from sqlalchemy.exc import OperationalError

from contractsync.errors import ConfigError, ContractSyncError
from contractsync.ports.clock import Clock
from contractsync.ports.storage import InboxMessage, UnitOfWork
from contractsync.services import flow_decisions
from contractsync.services.contract_flow import FlowSystems, ReferenceData
from contractsync.services.flow_decisions import ItemsState
from contractsync.services.flow_triggers import FlowTrigger, TriggerReader
from contractsync.services.inbox_processing import HandlerFailure
from contractsync.services.policy import Policy
from contractsync.workflows.engine import workflow_id
from contractsync.workflows.steps import wait_for_decision, workflow_name

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class FlowTiming:
    """How long flows wait.

    Attributes:
        decision_poll_seconds: Longest wait before a waiting run looks at its items (or the
            stored version) again; a sent decision wakes it earlier.
        ordering_wait_seconds: How long an amendment waits for its predecessor version
            before an item asks a person (ADR 0006).
    """

    decision_poll_seconds: float = 300.0
    ordering_wait_seconds: float = 86_400.0


@dataclass(frozen=True)
class FlowContext:
    """Everything the contract flows' steps reach, built by the composition root.

    Attributes:
        uow_factory: A fresh unit of work on the hub database.
        clock: The hub clock.
        systems: The external systems by role.
        reference: Legal entities and service catalogue contracts are checked against.
        policy: The amendment policy.
        readers: Per inbound source name, how its messages are read into triggers.
        timing: How long waits last.
    """

    uow_factory: Callable[[], UnitOfWork]
    clock: Clock
    systems: FlowSystems
    reference: ReferenceData
    policy: Policy
    readers: Mapping[str, TriggerReader] = field(default_factory=dict)
    timing: FlowTiming = field(default_factory=FlowTiming)


_bound: list[FlowContext] = []
_lock = threading.Lock()


def bind_flows(context: FlowContext) -> None:
    """Give this process's flows their context (replaces an earlier one; tests rebind)."""
    with _lock:
        _bound[:] = [context]


def flow_context() -> FlowContext:
    """The bound context.

    Raises:
        ConfigError: no context is bound (no ``systems`` are configured for the flows).
    """
    with _lock:
        if not _bound:
            raise ConfigError(
                "the contract flows have no systems to work with",
                code="config.flows_unbound",
                remediation="Configure the CLM and ERP under systems (and flows.reference), "
                "then restart the worker.",
            )
        return _bound[0]


def _is_database_hiccup(error: BaseException) -> bool:
    return isinstance(error, OperationalError)


def hub_step(name: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """A step on the hub database: one unit of work, retried only on a database hiccup."""
    return DBOS.step(
        name=name,
        retries_allowed=True,
        max_attempts=5,
        interval_seconds=0.5,
        backoff_rate=2.0,
        should_retry=_is_database_hiccup,
    )


@hub_step("flows.read_trigger")
def read_trigger(message: InboxMessage) -> FlowTrigger:
    """Read an inbound message into a trigger with its source's reader.

    Raises:
        ConfigError: no reader is configured for the message's source.
        DataError: the body cannot be read.
    """
    reader = flow_context().readers.get(message.source)
    if reader is None:
        raise ConfigError(
            f"no flow reads messages of source {message.source}",
            code="config.flow_reader_missing",
            remediation="Give the source's system a vendor the flows read (systems.<name>).",
        )
    return reader(message)


@hub_step("flows.now")
def now() -> datetime:
    """The hub clock's time, recorded (a workflow body must not read the clock itself)."""
    return flow_context().clock.now()


@hub_step("flows.read_items")
def read_items(item_ids: Sequence[str]) -> ItemsState:
    """Where the items a run waits on stand."""
    return flow_decisions.read_items(flow_context().uow_factory(), item_ids)


def await_items(item_ids: Sequence[str], topic: str) -> ItemsState:
    """Wait until every item is closed (resolved or dismissed); return how they closed."""
    while True:
        state = read_items(item_ids)
        if not state.is_pending:
            return state
        wait_for_decision(topic, flow_context().timing.decision_poll_seconds)


def start_child(function: Callable[P, R], key: str, *args: P.args, **kwargs: P.kwargs) -> str:
    """Start ``function`` as its own run ``<name>:<key>`` and return its id.

    A run with that id that exists already (a duplicate event) is left as it is, so each
    business key has one run whichever message started it.
    """
    with SetWorkflowID(workflow_id(workflow_name(function), key)):
        return DBOS.start_workflow(function, *args, **kwargs).get_workflow_id()


def notify(run_id: str, topic: str, payload: Any) -> bool:
    """Send ``payload`` to the run ``run_id`` on ``topic``; False when there is no such run.

    Inside a workflow the send is recorded, so a recovered run does not send twice.
    """
    try:
        DBOS.send(run_id, payload, topic)
    except dbos_error.DBOSNonExistentWorkflowError:
        return False
    return True


AMEND_CONTRACT = "amendment_rollout"
"""Registered name of the amendment flow; its runs are ``amendment_rollout:<contract>:v<n>``."""


def amendment_key(contract_id: str, version: int) -> str:
    """The business key of the run that applies version ``version`` of a contract."""
    return f"{contract_id}:v{version}"


def version_topic(contract_id: str, version: int) -> str:
    """The topic "contract <id> at version <n>": the run of version n + 1 waits on it."""
    return f"contract {contract_id} at version {version}"


def notify_next_version(contract_id: str, version: int) -> bool:
    """Tell the run of version ``version + 1``, if one waits, that ``version`` is stored."""
    successor = workflow_id(AMEND_CONTRACT, amendment_key(contract_id, version + 1))
    return notify(successor, version_topic(contract_id, version), {"version": version})


def current_run() -> str:
    """The id of the run this code executes in."""
    return DBOS.workflow_id or ""


@hub_step("flows.raise_failure")
def _raise_failure(
    error: ContractSyncError,
    step: str | None,
    retries_exhausted: bool,
    contract_id: str,
    topic: str,
    attempt: int,
) -> str:
    context = flow_context()
    failure = HandlerFailure(error, step=step, retries_exhausted=retries_exhausted)
    with context.uow_factory() as uow:
        item_id = flow_decisions.raise_step_failure(
            uow,
            context.clock,
            error=error,
            owner=failure.owner,
            severity=failure.severity,
            step=step,
            workflow_id=current_run(),
            topic=topic,
            contract_id=contract_id,
            attempt=attempt,
        )
        uow.commit()
    return item_id


def until_settled(section: Callable[[], R], *, contract_id: str, topic: str) -> R | None:
    """Run ``section`` (a sequence of steps); on a failure, raise an item and wait.

    A ContractSyncError (or a step that used up its retries) raises an ExceptionItem for
    whoever must act, then the run waits: resolving the item runs the section again (its
    steps are idempotent), dismissing it returns None. Other errors are bugs and end the
    run in ERROR.
    """
    # Imported here: the inbox module imports the handler table, which imports the flows.
    from contractsync.workflows.inbox import failure_of

    attempt = 0
    while True:
        try:
            return section()
        except (ContractSyncError, dbos_error.DBOSMaxStepRetriesExceeded) as error:
            failure = failure_of(error)
            attempt += 1
            item_id = _raise_failure(
                failure.error, failure.step, failure.retries_exhausted, contract_id, topic, attempt
            )
        if not await_items([item_id], topic).is_approved:
            return None


__all__ = [
    "AMEND_CONTRACT",
    "FlowContext",
    "FlowTiming",
    "amendment_key",
    "await_items",
    "bind_flows",
    "current_run",
    "flow_context",
    "hub_step",
    "notify",
    "notify_next_version",
    "now",
    "read_items",
    "read_trigger",
    "start_child",
    "until_settled",
    "version_topic",
]
