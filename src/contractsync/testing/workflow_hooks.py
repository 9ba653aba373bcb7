"""Test workflows and inbox handlers, registered through ``bootstrap.add_workflow_hook``.

Production composition registers none of this. A test process calls ``install()``; a test
that needs real ``contractsync`` processes runs them as
``python -m contractsync.testing.workflow_hooks <command> ...``, which is the ``contractsync``
command line with these hooks installed first.

What gets registered:

* the probe workflows (``workflows.probe``), bound to the effect recorder's HTTP client;
* an inbox handler for the source ``recorder`` (every event type) on the queue ``recorder``:
  it applies one effect per message at the recorder whose URL the event carries in
  ``data.target``, under its step's idempotency key (``call_idempotently``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from contractsync.errors import DataError
from contractsync.ports.storage import InboxMessage

RECORDER_SOURCE = "recorder"
"""The webhook source whose messages the test handler processes."""

RECORDER_QUEUE = "recorder"
"""The queue the test handler's runs go on (configure it under ``engine.queues``)."""


def record_inbox_effect(message: InboxMessage) -> Mapping[str, Any]:
    """Apply the effect ``<source>/<event id>`` at the recorder named in ``data.target``.

    Raises:
        DataError: the body names no target (``data.target``).
        ContractSyncError: whatever the recorder answers (422 becomes a DataError).
    """
    from contractsync.workflows import probe

    try:
        data = json.loads(message.body).get("data") or {}
        target = data["target"]
    except (ValueError, AttributeError, KeyError, TypeError) as error:
        raise DataError(
            f"test event {message.event_id} names no recorder in data.target",
            code="testing.no_target",
        ) from error
    effect = probe.apply_effect(str(target), f"{message.source}/{message.event_id}")
    return {"effect_id": effect["effect_id"]}


def register_test_workflows() -> None:
    """Import the probe workflows, bind their client, register the recorder handler."""
    from contractsync.testing.effect_recorder import EffectRecorderClient
    from contractsync.workflows import probe
    from contractsync.workflows.handlers import ANY_EVENT_TYPE, register_handler

    probe.bind_targets(EffectRecorderClient)
    register_handler(RECORDER_SOURCE, ANY_EVENT_TYPE, record_inbox_effect, queue=RECORDER_QUEUE)


def install() -> None:
    """Have this process register the test workflows when it builds an engine or dispatcher."""
    from contractsync.bootstrap import add_workflow_hook

    add_workflow_hook(register_test_workflows)


def uninstall() -> None:
    """Undo :func:`install`: later engines and dispatchers see only the production tables."""
    from contractsync.bootstrap import remove_workflow_hook
    from contractsync.workflows.handlers import ANY_EVENT_TYPE, unregister_handler

    remove_workflow_hook(register_test_workflows)
    unregister_handler(RECORDER_SOURCE, ANY_EVENT_TYPE)


def main() -> None:
    """Run the ``contractsync`` command line with the test workflows installed."""
    install()
    from contractsync.entrypoints.cli import main as contractsync

    contractsync()


if __name__ == "__main__":
    main()
