"""What supervising services costs the agent's loop, beside the loop without it (same run).

    .venv/bin/python bench/bench_services.py            # 50 workflows, 300 turns
    .venv/bin/python bench/bench_services.py 200 300    # workflows, turns

A store with N workflows (and no services) in a temporary home: ``Agent.tick()`` timed with
the supervisor's hook disabled (the baseline), then with a supervisor scan forced on every
turn (the worst case; the agent scans every ``SCAN_SECONDS``, i.e. every few turns). Rounds
alternate, so machine load hits both alike. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["DATATAILR_HOME"] = tempfile.mkdtemp(prefix="dt-bench-services-")

from datatailr.scheduler import services  # noqa: E402
from datatailr.scheduler.agent import LOOP_SECONDS, Agent  # noqa: E402
from datatailr.scheduler.platform import current_platform  # noqa: E402


def main(workflows: int = 50, turns: int = 300) -> None:
    meta = current_platform().metadata
    with meta.write() as conn:
        for i in range(workflows):
            meta.ensure_workflow(conn, f"wf-{i}", "dev", f"wf-{i}")
    agent = Agent()
    supervisor = services.supervisor_of(agent)
    hook = services.tick

    def baseline() -> float:
        services.tick = lambda _agent, _now: None  # type: ignore[assignment]
        try:
            return timed(agent.tick)
        finally:
            services.tick = hook

    def scanning() -> float:
        def turn() -> None:
            supervisor._last_scan = 0.0
            agent.tick()

        return timed(turn)

    def timed(turn) -> float:
        start = time.perf_counter()
        for _ in range(turns):
            turn()
        return (time.perf_counter() - start) / turns * 1e3

    rows = [(baseline(), scanning()) for _ in range(3)]
    base = statistics.median(r[0] for r in rows)
    scan = statistics.median(r[1] for r in rows)
    every = services.SCAN_SECONDS / LOOP_SECONDS
    print(f"Agent.tick with {workflows} workflows, no services (median of 3 x {turns} turns):")
    print(f"  without the supervisor (baseline): {base:6.2f} ms a turn")
    print(f"  with a supervisor scan every turn: {scan:6.2f} ms a turn")
    print(f"  as the agent runs (a scan every {every:g} turns): "
          f"{base + (scan - base) / every:6.2f} ms a turn")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    main(*args)
