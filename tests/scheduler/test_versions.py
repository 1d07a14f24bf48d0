"""A version is what runs: deploys start their own version, whatever else deploys at once."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap

from datatailr import Workflow
from datatailr.scheduler.batch import Run
from tests.conftest import ROOT

RACER = textwrap.dedent('''
    import sys
    from datatailr import task, workflow

    MARK = sys.argv[1]

    @task()
    def which():
        return MARK

    @workflow(name="racy")
    def pipeline():
        which()

    if __name__ == "__main__":
        for _ in range(3):
            pipeline()
''')


def test_two_processes_deploying_at_once_each_run_their_own_version(home, tmp_path):
    script = tmp_path / "racer.py"
    script.write_text(RACER)
    env = {**os.environ, "DATATAILR_HOME": str(home), "PYTHONPATH": str(ROOT)}
    procs = {mark: subprocess.Popen([sys.executable, str(script), mark], cwd=tmp_path, env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for mark in ("first", "second")}
    deployed: dict[int, tuple[int, str]] = {}  # run id -> (version, mark)
    for mark, proc in procs.items():
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        for version, run_id in re.findall(r"version (\d+) to dev: run (\d+) queued", out):
            deployed[int(run_id)] = (int(version), mark)
    assert len(deployed) == 6
    assert sorted(v for v, _ in deployed.values()) == [1, 2, 3, 4, 5, 6]
    wf = Workflow("racy")
    for run_id, (version, mark) in deployed.items():
        run = Run(wf, run_id)
        assert run.wait(timeout=120) == "completed"
        assert (run.run_details()["job_version"], run.result("which")) == (version, mark)
    assert sorted(r["job_version"] for r in wf.runs()) == [1, 2, 3, 4, 5, 6]


def test_start_runs_the_version_asked_for_and_says_which(home, tmp_path, run_python, capsys):
    script = tmp_path / "racer.py"
    script.write_text(RACER.replace("range(3)", "range(2)"))
    run_python(script, "mark")
    wf = Workflow("racy")
    run = wf.start(version=1)
    assert capsys.readouterr().out == (
        f"Started 'racy' version 1 in dev: run {run.run_id} queued on the local agent "
        f"(pid {wf_agent_pid()}).\n")
    assert run.wait(timeout=60) == "completed"
    assert run.run_details()["job_version"] == 1
    latest = wf.start(quiet=True)
    assert capsys.readouterr().out == ""
    assert latest.wait(timeout=60) == "completed"
    assert latest.run_details()["job_version"] == 2


def wf_agent_pid() -> int:
    from datatailr.scheduler.agent import agent_status

    return int(agent_status()["pid"])
