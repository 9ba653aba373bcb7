"""The simulated Kantata OX account: workspaces, stories, time entries and external references.

Every committed change is published to the ``subscribed_events`` feed as
``<type>:created`` / ``<type>:updated`` with the previous and current payloads. Thread-safe:
every public method holds the account lock.
"""

from __future__ import annotations

import copy
import datetime as dt
import threading
from collections.abc import Callable, Mapping
from typing import Any

from contractsync.simulators.kantata_events import EventFeed, iso
from contractsync.simulators.kantata_wire import KantataFault, validation

SUBJECTS = {"workspaces": "Workspace", "stories": "Story", "time_entries": "TimeEntry"}
"""Record key -> the ``subject_type`` events and external references use."""
KEYS = {subject: key for key, subject in SUBJECTS.items()}
EVENT_PREFIX = {"workspaces": "workspace", "stories": "story", "time_entries": "time_entry"}
STORY_TYPES = frozenset({"task", "deliverable", "milestone", "issue"})
STORY_STATES = frozenset({"not started", "started", "needs feedback", "completed", "blocked"})
_WRITABLE = {
    "workspaces": "title description creator_role start_date due_date budgeted price_in_cents "
    "currency archived",
    "stories": "title description story_type state workspace_id start_date due_date position "
    "budget_estimate_in_cents parent_id",
    "time_entries": "workspace_id story_id user_id date_performed time_in_minutes billable notes "
    "rate_in_cents cost_rate_in_cents currency approved",
}
FIELDS: dict[str, frozenset[str]] = {
    key: frozenset(names.split()) for key, names in _WRITABLE.items()
}
"""Writable attributes; others are ignored, as Kantata ignores unpermitted parameters."""
REFERENCE_FIELDS = (
    "subject_type",
    "subject_id",
    "service_name",
    "service_model",
    "service_model_ref",
)


def _is_date(value: Any) -> bool:
    try:
        dt.date.fromisoformat(str(value))
    except ValueError:
        return False
    return True


class KantataAccount:
    """One account's records.

    Args:
        feed: Where changes are published.
        clock: Unix seconds.
        account_id: The account id events carry.
    """

    def __init__(self, feed: EventFeed, clock: Callable[[], float], account_id: int) -> None:
        self.feed = feed
        self.clock = clock
        self.account_id = account_id
        self.lock = threading.RLock()
        self.users = {
            "1": {"id": "1", "full_name": "Integration User"},
            "2": {"id": "2", "full_name": "Pat Delivery"},
        }
        self.reset()

    def reset(self) -> None:
        """No records."""
        with self.lock:
            self.records: dict[str, dict[str, dict[str, Any]]] = {k: {} for k in SUBJECTS}
            self.references: dict[str, dict[str, Any]] = {}
            self._next = 1000
            self.last_event_id: str | None = None

    def _id(self) -> str:
        self._next += 1
        return str(self._next)

    def get(self, key: str, record_id: str) -> dict[str, Any]:
        """One record (a copy).

        Raises:
            KantataFault: 404 when the account has no such record.
        """
        with self.lock:
            record = self.records[key].get(str(record_id))
            if record is None:
                raise KantataFault(404, "system", f"{SUBJECTS[key]} {record_id} could not be found")
            return copy.deepcopy(record)

    def rows(self, key: str) -> list[dict[str, Any]]:
        """Every record of a type in creation order (copies)."""
        with self.lock:
            return copy.deepcopy(list(self.records[key].values()))

    def _check(self, key: str, record: Mapping[str, Any]) -> None:
        errors: list[tuple[str, str]] = []
        if key == "workspaces":
            if not record.get("title"):
                errors.append(("title", "Please give your project a title"))
            if record.get("creator_role") not in ("maven", "buyer"):
                errors.append(("creator_role", "Please select a role for this project"))
        elif key == "stories":
            if not record.get("title"):
                errors.append(("title", "Title can't be blank"))
            if str(record.get("workspace_id")) not in self.records["workspaces"]:
                errors.append(("workspace_id", "Workspace can't be blank"))
            if record.get("story_type") not in STORY_TYPES:
                errors.append(("story_type", "Story type is not included in the list"))
            if record.get("state") not in STORY_STATES:
                errors.append(("state", "State is not included in the list"))
        else:
            if str(record.get("workspace_id")) not in self.records["workspaces"]:
                errors.append(("workspace_id", "Workspace can't be blank"))
            if not _is_date(record.get("date_performed")):
                errors.append(("date_performed", "Date performed is not a valid date"))
            minutes = record.get("time_in_minutes")
            if not isinstance(minutes, int) or isinstance(minutes, bool) or minutes <= 0:
                errors.append(("time_in_minutes", "Time in minutes must be greater than 0"))
            story = self.records["stories"].get(str(record.get("story_id")))
            if record.get("story_id") is not None and (
                story is None or story["workspace_id"] != str(record.get("workspace_id"))
            ):
                errors.append(("story_id", "Story must belong to the project"))
        for name in ("start_date", "due_date"):
            if record.get(name) is not None and not _is_date(record[name]):
                errors.append((name, f"{name.replace('_', ' ').capitalize()} is not a valid date"))
        if errors:
            raise validation(errors)

    def _normal(self, key: str, attrs: Mapping[str, Any]) -> dict[str, Any]:
        kept = {k: v for k, v in attrs.items() if k in FIELDS[key]}
        for ref in ("workspace_id", "story_id", "parent_id", "user_id"):
            if kept.get(ref) is not None:
                kept[ref] = str(kept[ref])
        return kept

    @staticmethod
    def _defaults(key: str, user_id: int) -> dict[str, Any]:
        defaults: dict[str, dict[str, Any]] = {
            "workspaces": {"archived": False, "description": ""},
            "stories": {"story_type": "task", "state": "not started", "description": ""},
            "time_entries": {"billable": True, "user_id": str(user_id), "approved": False},
        }
        return defaults[key]

    def create(self, key: str, attrs: Mapping[str, Any], *, user_id: int) -> dict[str, Any]:
        """Create a record and publish ``<type>:created``.

        Raises:
            KantataFault: 422 listing every validation error.
        """
        with self.lock:
            record = {**self._defaults(key, user_id), **self._normal(key, attrs)}
            self._check(key, record)
            now = iso(self.clock())
            record.update(id=self._id(), created_at=now, updated_at=now)
            self.records[key][record["id"]] = record
            self._publish(key, None, record, user_id)
            return copy.deepcopy(record)

    def create_many(
        self, key: str, batch: list[Mapping[str, Any]], *, user_id: int
    ) -> list[dict[str, Any]]:
        """Create every record or none: all are validated before the first is stored.

        Raises:
            KantataFault: 422 naming the first invalid record's errors.
        """
        with self.lock:
            for attrs in batch:
                self._check(key, {**self._defaults(key, user_id), **self._normal(key, attrs)})
            return [self.create(key, attrs, user_id=user_id) for attrs in batch]

    def update(
        self, key: str, record_id: str, attrs: Mapping[str, Any], *, user_id: int
    ) -> dict[str, Any]:
        """Change a record and publish ``<type>:updated`` (only when something changed).

        Raises:
            KantataFault: 404 for an unknown record, 422 for invalid values.
        """
        with self.lock:
            before = self.get(key, record_id)
            after = {**before, **self._normal(key, attrs)}
            self._check(key, after)
            if after != before:
                after["updated_at"] = iso(self.clock())
                self.records[key][before["id"]] = after
                self._publish(key, before, after, user_id)
            return copy.deepcopy(after)

    def _publish(
        self, key: str, before: dict[str, Any] | None, after: dict[str, Any], user_id: int
    ) -> None:
        kind = "created" if before is None else "updated"
        self.last_event_id = self.feed.publish(
            f"{EVENT_PREFIX[key]}:{kind}",
            subject_type=SUBJECTS[key],
            subject_id=after["id"],
            before=before,
            after=after,
            user_id=user_id,
        )

    def create_or_update_reference(self, attrs: Mapping[str, Any]) -> dict[str, Any]:
        """Link a Kantata object to an external id; one link per subject, service and model.

        Raises:
            KantataFault: 422 for a missing field, an unsupported type or an unknown subject.
        """
        errors = [
            (f, f"{f.replace('_', ' ').capitalize()} can't be blank")
            for f in REFERENCE_FIELDS
            if not attrs.get(f)
        ]
        key = KEYS.get(str(attrs.get("subject_type")))
        if not errors and (key is None or str(attrs["subject_id"]) not in self.records[key]):
            errors.append(("subject", "Subject can't be blank"))
        if errors:
            raise validation(errors)
        with self.lock:
            match = (
                str(attrs["subject_type"]),
                str(attrs["subject_id"]),
                attrs["service_name"],
                attrs["service_model"],
            )
            found = next(
                (
                    r
                    for r in self.references.values()
                    if (r["subject_type"], r["subject_id"], r["service_name"], r["service_model"])
                    == match
                ),
                None,
            )
            now = iso(self.clock())
            reference = found or {"id": self._id(), "created_at": now}
            reference.update(
                {f: str(attrs[f]) for f in REFERENCE_FIELDS},
                status=str(attrs.get("status") or "successful"),
                external_status=attrs.get("external_status"),
                external_message=attrs.get("external_message"),
                last_synced_at=now,
                updated_at=now,
            )
            self.references[reference["id"]] = reference
            return copy.deepcopy(reference)

    def references_of(self, subject_type: str, subject_ids: set[str]) -> list[dict[str, Any]]:
        """Every link of the given subjects."""
        with self.lock:
            return [
                copy.deepcopy(r)
                for r in self.references.values()
                if r["subject_type"] == subject_type and r["subject_id"] in subject_ids
            ]

    def dump(self) -> dict[str, Any]:
        """Every record and link, JSON-ready."""
        with self.lock:
            return {
                **copy.deepcopy(self.records),
                "external_references": copy.deepcopy(self.references),
            }


__all__ = [
    "EVENT_PREFIX",
    "FIELDS",
    "KEYS",
    "STORY_STATES",
    "STORY_TYPES",
    "SUBJECTS",
    "KantataAccount",
]
