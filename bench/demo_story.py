"""How long the demo story's acts take, with the vendors' faults on and (as the baseline) off.

Usage: .venv/bin/python bench/demo_story.py [--runs 1]

Each run starts the whole demo stack (real Tryton from the template cache, the four vendor
simulators on loopback, the hub as ``serve`` runs it) in a fresh folder, plays the 26-contract
story, and times every act from its start to the next. Runs alternate: without faults (the
baseline), then with the story's fault plan (429s, 5xx, duplicate and reordered webhooks),
all in this process. Prints per-act seconds, the ratio faults/baseline, and per run the
contracts activated per second in the signing act and the webhook duplicates suppressed.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from itertools import pairwise
from pathlib import Path

from contractsync.entrypoints.story.cast import cast
from contractsync.entrypoints.story.outcome import DemoOutcome, play_demo
from contractsync.entrypoints.story.script import FAULTS, Story
from contractsync.entrypoints.story.stack import DemoStack

SIGNING = Story.ACTS[1]


def one_run(with_faults: bool) -> tuple[dict[str, float], DemoOutcome, float]:
    """Play the story once; return seconds per act, the outcome and the start-up seconds."""
    folder = Path(tempfile.mkdtemp(prefix="contractsync-bench-demo-"))
    began = time.monotonic()
    stack = DemoStack(folder).start()
    startup = time.monotonic() - began
    marks: list[tuple[str, float]] = []
    try:
        outcome = play_demo(
            stack,
            cast(),
            on_act=lambda name: marks.append((name, time.monotonic())),
            faults=FAULTS if with_faults else {},
        )
    finally:
        stack.stop()
    marks.append(("end", time.monotonic()))
    acts = {name: later - at for (name, at), (_, later) in pairwise(marks)}
    return acts, outcome, startup


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="Runs of each mode.")
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)  # the hub's retries would flood the output
    logging.getLogger("dbos").addHandler(logging.NullHandler())
    logging.getLogger("dbos").propagate = False
    results: dict[bool, list[dict[str, float]]] = {False: [], True: []}
    for run in range(args.runs):
        for with_faults in (False, True):
            acts, outcome, startup = one_run(with_faults)
            results[with_faults].append(acts)
            mode = "faults" if with_faults else "baseline"
            deals = len(outcome.deals)
            print(
                f"run {run + 1} {mode:8}: start-up {startup:5.1f} s, story "
                f"{outcome.story_seconds:5.1f} s, {deals / acts[SIGNING]:4.2f} contracts "
                f"activated/s while signing, {outcome.census.duplicates_suppressed} duplicate "
                f"webhooks suppressed, {len(outcome.mismatches)} mismatches, "
                f"{len(outcome.reconciliation.lines)} drift item(s)",
                flush=True,
            )
    print(f"\n{'act':62} {'baseline s':>10} {'faults s':>9} {'ratio':>6}")
    for name in results[False][0]:
        base = statistics.median(r[name] for r in results[False])
        faulty = statistics.median(r[name] for r in results[True])
        print(f"{name:62} {base:10.1f} {faulty:9.1f} {faulty / base if base else 0:6.2f}")


if __name__ == "__main__":
    main()
