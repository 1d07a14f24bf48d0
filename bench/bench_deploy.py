"""Deploy-to-start: from the deploy call to the first task's code starting on the agent.

    .venv/bin/python bench/bench_deploy.py

Three figures, measured in the same run on a real agent in a temporary home: a workflow
without python_requirements (the baseline: the agent's own interpreter), one whose
requirements the agent's environment already satisfies (checked, nothing built), and one
pinned to a version the agent lacks with its isolated environment already built and cached
(the runner re-executes itself there). The first build of that environment is printed too.
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


def main() -> None:
    ensure_agent()
    try:
        cases = {
            "no requirements (baseline)": make("bench plain", []),
            f"six=={HERE}: met by the agent": make("bench met", [f"six=={HERE}"]),
            f"six=={OLD}: cached environment": make("bench cached", [f"six=={OLD}"]),
        }
        build = deploy_to_start(cases[f"six=={OLD}: cached environment"])
        print(f"first build of the six=={OLD} environment, then start: {build:.2f} s")
        for label, pipeline in cases.items():
            times = [deploy_to_start(pipeline) for _ in range(REPEAT)]
            print(f"{label:36s} median {statistics.median(times) * 1000:7.0f} ms "
                  f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}, n={REPEAT})")
    finally:
        stop_agent()


if __name__ == "__main__":
    main()
