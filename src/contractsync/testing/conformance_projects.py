"""The conformance suite's project checks: closing a project, and reading a PSA plan back.

Run through ``conformance.cases`` like every check; a role whose driver has no
``is_closed`` (or no ``plan``) has no such check.
"""

from __future__ import annotations

import uuid
from typing import Any

from contractsync.errors import DataError
from contractsync.testing.conformance_roles import Driver


def _key() -> str:
    return f"conf-{uuid.uuid4().hex[:12]}"


def check_close_project(harness: Any, driver: Driver) -> None:
    """Closing a project closes it once: again is a no-op, and an unknown one a DataError."""
    assert driver.is_closed is not None
    adapter, key = harness.build(), _key()
    project, _contract = harness.open_project(adapter, key)
    assert not driver.is_closed(adapter, project), "a project was closed before close_project"
    ref = adapter.close_project(project)
    assert adapter.close_project(project) == ref, "closing again returned another ref"
    assert driver.is_closed(adapter, project), "the closed project does not read back closed"
    other = _key()
    unknown = project.model_copy(update={"id": other, "contract_id": f"K-{other}"})
    try:
        adapter.close_project(unknown)
    except DataError:
        return
    raise AssertionError("closing an unknown project raised no DataError (or another error)")


def check_project_plan(harness: Any, driver: Driver) -> None:
    """A project's plan reads back with the contract's term and one milestone per milestone."""
    assert driver.plan is not None
    adapter, key = harness.build(), _key()
    project, contract = harness.open_project(adapter, key)
    plan = driver.plan(adapter, project.id)
    assert plan is not None, f"no plan of {project.id}"
    assert plan.project == adapter.find_project(project.id)
    assert (plan.project_id, plan.contract_id, plan.closed) == (project.id, contract.id, False)
    assert (plan.start, plan.end) == (contract.term.start, contract.term.end)
    wanted = [(m.id, m.name, m.due_date) for _, m in contract.milestones()]
    assert sorted((m.id, m.name, m.due_date) for m in plan.milestones) == sorted(wanted)
    assert driver.plan(adapter, _key()) is None, "an unknown project has a plan"


__all__ = ["check_close_project", "check_project_plan"]
