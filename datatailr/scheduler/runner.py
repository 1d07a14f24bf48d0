"""``python -m datatailr.scheduler.runner RUN_ID``: execute one queued run, started by the agent.

Loads the frozen code of the run's version, runs it with the recorder (and progress lines to
this process's output, which the agent points at ``agent/runs/RUN_ID.log``). If the code cannot
even be loaded, the run fails with that reason instead of staying queued.
"""

from __future__ import annotations

import os
import subprocess
import sys
import traceback


def run(run_id: int) -> int:
    from datatailr.scheduler.execution import execute, load_dag
    from datatailr.scheduler.platform import current_platform
    from datatailr.scheduler.progress import PlainProgress

    platform = current_platform()
    meta = platform.metadata
    row = meta.get_run(run_id)
    if row is None:
        print(f"Error: no run {run_id}", file=sys.stderr)
        return 1
    workflow = meta.workflow_by_id(row["workflow_id"])
    version = meta.get_version(row["workflow_id"], row["job_version"])
    assert workflow is not None
    try:
        if version is None:
            raise LookupError(f"version {row['job_version']} of {workflow['name']!r} is gone")
        dag = load_dag(platform, version)
    except Exception as exc:
        traceback.print_exc()
        meta.mark_abandoned(run_id, "failed",
                            f"Cannot load the code of version {row['job_version']}: "
                            f"{type(exc).__name__}: {exc}")
        return 1
    state = execute(platform, run_id, dag, workflow_name=workflow["name"],
                    listeners=[PlainProgress(dag, workflow["name"])])
    return 0 if state == "completed" else 3


def run_here(run_id: int, progress: bool = True, python: str | None = None) -> int:
    """Run a recorded run in a runner process started from here, with this process's
    environment, relaying its progress lines; returns the runner's exit code. Used for local
    runs of a stored version (its frozen files must not mix with the modules loaded here)."""
    process = subprocess.Popen(
        [python or sys.executable, "-m", "datatailr.scheduler.runner", str(run_id)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        env=dict(os.environ), text=True, errors="replace")
    assert process.stdout is not None
    try:
        for line in process.stdout:
            if progress:
                sys.stdout.write(line)
                sys.stdout.flush()
        return process.wait()
    except BaseException:  # Ctrl+C here stops the run there
        from datatailr.scheduler.platform import current_platform

        current_platform().metadata.request_stop(run_id)
        process.wait()
        raise


if __name__ == "__main__":
    sys.exit(run(int(sys.argv[1])))
