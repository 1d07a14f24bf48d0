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


# -- code, whole: every user file the workflow reaches is frozen --------------------------------

HELPER = 'from pkg.deep import shout\n\n\ndef greet(x):\n    return shout(f"{tag} {{x}}")\n'
TASKS = textwrap.dedent('''
    import helper_mod
    from datatailr import task

    @task()
    def hello(name):
        return helper_mod.greet(name)
''')
FLOW = textwrap.dedent('''
    import sys
    from datatailr import workflow
    from tasks_mod import hello

    @workflow(name="bundled")
    def pipeline():
        hello("bob")

    if __name__ == "__main__":
        pipeline(**({"save_only": True} if sys.argv[1:] == ["save"] else {}))
''')


def write_project(folder, tag):
    (folder / "pkg").mkdir(exist_ok=True)
    (folder / "pkg" / "__init__.py").write_text("")
    (folder / "pkg" / "deep.py").write_text("def shout(s):\n    return s.upper()\n")
    (folder / "helper_mod.py").write_text(HELPER.format(tag=tag))
    (folder / "tasks_mod.py").write_text(TASKS)
    (folder / "flow.py").write_text(FLOW)


def test_old_versions_run_their_own_helper_modules_after_edits_and_deletes(
        home, tmp_path, run_python):
    write_project(tmp_path, "one")
    run_python(tmp_path / "flow.py")
    wf = Workflow("bundled")
    assert Run(wf, 1).wait(timeout=60) == "completed"
    write_project(tmp_path, "two")
    run_python(tmp_path / "flow.py", "save")
    # The helper module a task module imports, and the package it imports, edited, then gone.
    (tmp_path / "helper_mod.py").write_text(HELPER.format(tag="edited"))
    on_agent = wf.rerun(1, version=1, full=True)
    assert on_agent.wait(timeout=60) == "completed"
    assert on_agent.result("hello") == "ONE BOB"
    (tmp_path / "helper_mod.py").unlink()
    (tmp_path / "pkg" / "deep.py").unlink()
    here = wf.rerun(1, version=1, full=True, local_run=True, progress=False)
    assert (here.state, here.result("hello")) == ("completed", "ONE BOB")
    latest = wf.rerun(1, full=True)
    assert latest.wait(timeout=60) == "completed"
    assert latest.result("hello") == "TWO BOB"

    assert wf.source_files(1) == {
        "flow.py": FLOW,
        "helper_mod.py": HELPER.format(tag="one"),
        "pkg/__init__.py": "",
        "pkg/deep.py": "def shout(s):\n    return s.upper()\n",
        "tasks_mod.py": TASKS,
    }
    diff = wf.diff(1, 2)
    assert diff.startswith(
        "--- v1/helper_mod.py\n+++ v2/helper_mod.py\n@@ -2,4 +2,4 @@\n \n \n def greet(x):\n"
        '-    return shout(f"one {x}")\n+    return shout(f"two {x}")\n'
        "--- v1/definition.json\n+++ v2/definition.json\n")
    old_print, new_print = (wf.definition(v)["tasks"][0]["fingerprint"] for v in (1, 2))
    assert f'-      "fingerprint": "{old_print}",\n+      "fingerprint": "{new_print}",\n' in diff
    assert wf.diff(2, 2) == ""


def test_a_schedule_fires_the_version_that_is_latest_at_its_due_time(home):
    from datatailr import task, workflow
    from datatailr.scheduler import agent as agent_mod
    from datatailr.scheduler.platform import current_platform

    @task()
    def tick(n):
        return n

    def scheduled(n):
        @workflow(name="ticking", schedule="* * * * *")
        def pipeline():
            tick(n)

        return pipeline

    scheduled(1)(save_only=True)
    scheduled(2)(save_only=True)
    [latest] = current_platform().metadata.scheduled_versions()
    due = (int(latest["created_at"] // 60) + 1) * 60
    agent = agent_mod.Agent(now=lambda: due + 5, spawn=lambda run_id: None)
    [run_id] = agent.fire_schedules(due + 5)
    assert Workflow("ticking").run_details(run_id)["job_version"] == 2


NOTEBOOK_CELL = textwrap.dedent('''
    import helper_nb
    from datatailr import task, workflow

    @task()
    def greet():
        return helper_nb.word()

    @workflow(name="from a notebook")
    def pipeline():
        greet()

    pipeline()
''')


def test_functions_without_a_file_carry_the_modules_they_use(home, tmp_path, run_python):
    # `python -c` has no __main__ file, as a notebook kernel: the task goes by value, the
    # helper module it uses goes in the bundle.
    (tmp_path / "helper_nb.py").write_text("def word():\n    return 'frozen'\n")
    run_python(NOTEBOOK_CELL)
    wf = Workflow("from a notebook")
    assert Run(wf, 1).wait(timeout=60) == "completed"
    (tmp_path / "helper_nb.py").write_text("def word():\n    return 'edited'\n")
    again = wf.rerun(1, full=True)
    assert again.wait(timeout=60) == "completed"
    assert again.result("greet") == "frozen"
    files = wf.source_files()
    assert sorted(files) == [".datatailr/notebook.py", "helper_nb.py"]
    # (a notebook kernel keeps its cells' source; `python -c` keeps none to show)
    assert files[".datatailr/notebook.py"] == (
        "# source of pipeline is not available\n\n\n# source of greet is not available\n")
    assert files["helper_nb.py"] == "def word():\n    return 'frozen'\n"
