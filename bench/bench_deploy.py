"""Deploy-to-start: from the deploy call to the first task's code starting on the agent.

    .venv/bin/python bench/bench_deploy.py

Measured in the same run on a real agent in a temporary home. First the start latency of a
queued run - queued (the run's row written) to the run started (its runner running it) and to
its first task's code starting - on an agent that starts a new runner interpreter per run
(``DATATAILR_AGENT_WARM=0``, the baseline) beside the default agent, which keeps one runner
warm and is woken by the deploy. Runs are a second apart, as deploys are, so the warm runner
is ready for each. Then, on the default agent, the whole deploy call to first task for: a
workflow without python_requirements (the agent's own interpreter), one whose requirements
the agent's environment already satisfies (checked, nothing built), and one pinned to a
version the agent lacks with its isolated environment already built and cached (the runner
re-executes itself there). The first build of that environment is printed too.
Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import importlib.metadata
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["DATATAILR_HOME"] = tempfile.mkdtemp(prefix="dt-bench-deploy-")

from datatailr import task, workflow  # noqa: E402
from datatailr.scheduler.agent import ensure_agent, stop_agent  # noqa: E402

REPEAT = 5
HERE = importlib.metadata.version("six")
OLD = "1.15.0" if HERE != "1.15.0" else "1.16.0"


@task()
def first():
    return 1


def make(name, requirements):
    @workflow(name=name, python_requirements=requirements)
    def pipeline():
        first()

    return pipeline


def deploy_to_start(pipeline) -> float:
    import contextlib
    import io

    t0 = time.time()
    with contextlib.redirect_stdout(io.StringIO()):
        run = pipeline()
    run.wait(timeout=600)
    assert run.state == "completed", run.error
    [detail] = run.run_details()["tasks"]
    return detail["start_time"].timestamp() - t0


def queued_to_start(pipeline) -> tuple[float, float]:
    """(queued -> run started, queued -> first task started) of one deploy, in seconds."""
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        run = pipeline()
    run.wait(timeout=600)
    assert run.state == "completed", run.error
    details = run.run_details()
    from datatailr.scheduler.platform import current_platform

    queued = current_platform().metadata.get_run(run.run_id)["created_at"]
    [detail] = details["tasks"]
    return (details["start_time"].timestamp() - queued,
            detail["start_time"].timestamp() - queued)


def _line(label: str, times: list[float]) -> str:
    return (f"{label:44s} median {statistics.median(times) * 1000:7.0f} ms "
            f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}, n={len(times)})")


def main() -> None:
    plain = make("bench plain", [])
    for label, warm in (("new runner per run (baseline)", "0"), ("warm runner, woken", "1")):
        os.environ["DATATAILR_AGENT_WARM"] = warm
        ensure_agent()
        try:
            time.sleep(1.0)  # the agent's warm runner (if any) is up
            pairs = []
            for _ in range(REPEAT):
                pairs.append(queued_to_start(plain))
                time.sleep(1.0)
            print(_line(f"{label}: queued -> run started", [p[0] for p in pairs]))
            print(_line(f"{label}: queued -> first task", [p[1] for p in pairs]))
        finally:
            stop_agent()
    os.environ.pop("DATATAILR_AGENT_WARM")
    ensure_agent()
    try:
        cases = {
            "no requirements": plain,
            f"six=={HERE}: met by the agent": make("bench met", [f"six=={HERE}"]),
            f"six=={OLD}: cached environment": make("bench cached", [f"six=={OLD}"]),
        }
        build = deploy_to_start(cases[f"six=={OLD}: cached environment"])
        print(f"first build of the six=={OLD} environment, then start: {build:.2f} s")
        for label, pipeline in cases.items():
            times = []
            for _ in range(REPEAT):
                times.append(deploy_to_start(pipeline))
                time.sleep(1.0)
            print(_line(f"deploy call -> first task, {label}", times))
    finally:
        stop_agent()


if __name__ == "__main__":
    main()
