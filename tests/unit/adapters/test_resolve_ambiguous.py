"""resolve_ambiguous: after a lost response, look the record up before any second write."""

import asyncio

import pytest

from contractsync.adapters.http import resolve_ambiguous, resolve_ambiguous_async
from contractsync.errors import AmbiguousCommitError, ConfigError, DataError, TransientError


class Remote:
    """A remote store whose writes may land and still lose their response."""

    def __init__(self, outcomes: list[str]) -> None:
        # each outcome: "ok", "landed_but_lost" or "lost_before_landing"
        self.outcomes = list(outcomes)
        self.records: list[str] = []
        self.writes = 0
        self.lookups = 0

    def write(self) -> str:
        self.writes += 1
        outcome = self.outcomes.pop(0) if self.outcomes else "ok"
        if outcome != "lost_before_landing":
            self.records.append("C-1")
        if outcome != "ok":
            raise AmbiguousCommitError("read timeout", detail={"system": "netsuite"})
        return "C-1"

    def lookup(self) -> str | None:
        self.lookups += 1
        return self.records[0] if self.records else None


def test_a_write_that_answers_is_never_looked_up():
    remote = Remote(["ok"])
    assert resolve_ambiguous(remote.write, remote.lookup) == "C-1"
    assert (remote.writes, remote.lookups) == (1, 0)


def test_a_write_that_landed_is_found_by_lookup_and_written_once():
    remote = Remote(["landed_but_lost"])
    assert resolve_ambiguous(remote.write, remote.lookup) == "C-1"
    assert (remote.writes, remote.lookups) == (1, 1)
    assert remote.records == ["C-1"]


def test_a_write_that_did_not_land_is_written_a_second_time():
    remote = Remote(["lost_before_landing", "ok"])
    assert resolve_ambiguous(remote.write, remote.lookup) == "C-1"
    assert (remote.writes, remote.lookups) == (2, 1)
    assert remote.records == ["C-1"]


def test_still_unknown_after_max_writes_needs_reconciliation_and_stops_writing():
    remote = Remote(["lost_before_landing"] * 5)
    with pytest.raises(AmbiguousCommitError) as caught:
        resolve_ambiguous(remote.write, remote.lookup, max_writes=3)
    assert remote.writes == 3
    assert caught.value.code == "remote.ambiguous_commit_unresolved"
    assert caught.value.detail["needs_reconciliation"] is True
    assert caught.value.detail["system"] == "netsuite"


def test_a_failed_lookup_stays_ambiguous_and_never_writes_blindly():
    remote = Remote(["landed_but_lost"])

    def broken_lookup() -> str | None:
        raise TransientError("503 during lookup")

    with pytest.raises(AmbiguousCommitError) as caught:
        resolve_ambiguous(remote.write, broken_lookup)
    assert remote.writes == 1
    assert caught.value.detail["lookup_failed"] is True
    assert isinstance(caught.value.__cause__, TransientError)


def test_a_retried_step_looks_up_first_and_skips_the_write_when_found():
    remote = Remote([])
    remote.records.append("C-1")
    assert resolve_ambiguous(remote.write, remote.lookup, lookup_first=True) == "C-1"
    assert remote.writes == 0


def test_a_retried_step_writes_when_the_first_lookup_finds_nothing():
    remote = Remote(["ok"])
    assert resolve_ambiguous(remote.write, remote.lookup, lookup_first=True) == "C-1"
    assert (remote.writes, remote.lookups) == (1, 1)


def test_other_errors_of_the_write_pass_through_without_a_lookup():
    remote = Remote([])

    def bad_write() -> str:
        raise DataError("400")

    with pytest.raises(DataError):
        resolve_ambiguous(bad_write, remote.lookup)
    assert remote.lookups == 0


def test_zero_writes_is_refused():
    remote = Remote([])
    with pytest.raises(ConfigError):
        resolve_ambiguous(remote.write, remote.lookup, max_writes=0)


@pytest.mark.parametrize(
    ("outcomes", "writes"), [(["landed_but_lost"], 1), (["lost_before_landing", "ok"], 2)]
)
def test_the_async_twin_writes_once_when_found_and_twice_when_not(outcomes, writes):
    remote = Remote(outcomes)

    async def write() -> str:
        return remote.write()

    async def lookup() -> str | None:
        return remote.lookup()

    assert asyncio.run(resolve_ambiguous_async(write, lookup)) == "C-1"
    assert remote.writes == writes
    assert remote.records == ["C-1"]
