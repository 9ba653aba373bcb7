"""Telling the run that waits on an ExceptionItem that its owner closed it, right away.

A flow that needs a person raises an item naming itself and the topic it waits on
(``flow_decisions.EVIDENCE_FLOW``, ``EVIDENCE_TOPIC``). Once an owner's resolve or dismiss
is *committed*, :func:`deliver_decision` sends the run a decision on that topic, so it goes
on at once instead of at its next poll (``flows.decision_poll_seconds``).

The send is best effort by design: the item is already closed, and the run's poll is the
safety net. A failed send is logged and reported, never raised, so it cannot fail the
owner's action. Each item's decision carries its own idempotency key, so delivering it
twice (a retried request, a double click) wakes the run once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from contractsync.domain.exception_item import ExceptionItem
from contractsync.ports.workflows import DecisionSender
from contractsync.services.flow_decisions import EVIDENCE_FLOW, EVIDENCE_TOPIC

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Decision:
    """The message that tells a waiting run one of its items was closed.

    Attributes:
        workflow_id: The waiting run.
        topic: The topic it waits on.
        payload: ``{"item_id": ..., "status": ...}``; the run re-reads its items anyway.
        idempotency_key: ``exception:<item id>:<status>``: one delivery per item decision.
    """

    workflow_id: str
    topic: str
    payload: dict[str, Any]
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class Delivery:
    """What :func:`deliver_decision` did.

    Attributes:
        decision: The decision for the waiting run.
        sent: True when the engine took it; False when sending failed (logged) or there
            was nothing to send it through.
        error: Why it was not sent, for the operator; None when sent.
    """

    decision: Decision
    sent: bool
    error: str | None = None


def decision_for(item: ExceptionItem) -> Decision | None:
    """The decision telling the run waiting on ``item`` that it was closed, or None.

    None when the item names no waiting run (its evidence lacks the run or the topic), or
    when it is still open: only a resolve or a dismiss is a decision.
    """
    run, topic = item.evidence.get(EVIDENCE_FLOW), item.evidence.get(EVIDENCE_TOPIC)
    if not item.is_closed or not isinstance(run, str) or not isinstance(topic, str):
        return None
    if not run or not topic:
        return None
    status = item.status.value
    return Decision(
        workflow_id=run,
        topic=topic,
        payload={"item_id": item.id, "status": status},
        idempotency_key=f"exception:{item.id}:{status}",
    )


def deliver_decision(sender: DecisionSender | None, item: ExceptionItem) -> Delivery | None:
    """Send the decision for the *committed* closing of ``item`` to the run waiting on it.

    Call it after the unit of work that closed the item committed: a run woken earlier
    would read the item still open and wait again.

    Returns:
        None when no run waits on the item; else what happened. Never raises: a failure is
        logged as a warning, and the run notices the item at its next poll.
    """
    decision = decision_for(item)
    if decision is None:
        return None
    if sender is None:
        _log.warning(
            "no engine to tell run %s that %s is %s; it notices at its next poll",
            decision.workflow_id,
            item.id,
            item.status.value,
        )
        return Delivery(decision, sent=False, error="no workflow engine configured here")
    try:
        sender.send_decision(
            decision.workflow_id,
            decision.topic,
            decision.payload,
            idempotency_key=decision.idempotency_key,
        )
    # The item is committed already: nothing about the send may fail the owner's action.
    except Exception as error:  # noqa: BLE001 - logged; the run's poll is the safety net
        _log.warning(
            "could not tell run %s that %s is %s (%s); it notices at its next poll",
            decision.workflow_id,
            item.id,
            item.status.value,
            error,
        )
        _log.debug("sending the decision for %s failed", item.id, exc_info=True)
        return Delivery(decision, sent=False, error=str(error) or type(error).__name__)
    return Delivery(decision, sent=True)


__all__ = ["Decision", "Delivery", "decision_for", "deliver_decision"]
