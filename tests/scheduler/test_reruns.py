"""Reruns pick up the fix: a completed task is reused only when its code and constant inputs
are unchanged in the version that runs, and everything upstream of it is reused too."""

from __future__ import annotations

import textwrap

from datatailr import Workflow
from datatailr.scheduler.batch import Run

CHAIN = textwrap.dedent('''
    import sys
    from datatailr import task, workflow

    @task()
    def fetch():
        return [1, 2, 3, 4]

    @task()
    def clean(xs, limit):
        return [x for x in xs if x {op} limit]

    @task()
    def report(xs):
        return f"sum={{sum(xs)}}"

    @task()
    def audit():
        return "{audit}"

    @workflow(name="chain")
    def pipeline():
        report(clean(fetch(), {limit}))
        audit()

    if __name__ == "__main__":
        pipeline(**({{"save_only": True}} if sys.argv[1:] == ["save"] else {{}}))
''')


def executed(wf, run_id):
    """Task name -> whether its code ran in the run (False: its result was reused)."""
    return {t["name"]: t["result_from_run_id"] is None for t in wf.run_details(run_id)["tasks"]}


def test_an_upstream_fix_reruns_it_and_everything_downstream(home, tmp_path, run_python):
    script = tmp_path / "chain.py"
    script.write_text(CHAIN.format(op=">", limit=10, audit="ok"))
    run_python(script)
    wf = Workflow("chain")
    assert Run(wf, 1).wait(timeout=60) == "completed"
    assert wf.result(1, "report") == "sum=0"
    script.write_text(CHAIN.format(op="<", limit=10, audit="ok"))  # the fix, upstream
    run_python(script, "save")
    fixed = wf.rerun(1)
    assert fixed.wait(timeout=60) == "completed"
    assert fixed.result("report") == "sum=10"
    assert executed(wf, fixed.run_id) == {"fetch": False, "clean": True, "report": True,
                                          "audit": False}
    # A changed constant input counts as a change too; the unchanged rest is reused.
    script.write_text(CHAIN.format(op="<", limit=3, audit="ok"))
    run_python(script, "save")
    again = wf.rerun(fixed.run_id)
    assert again.wait(timeout=60) == "completed"
    assert again.result("report") == "sum=3"
    assert executed(wf, again.run_id) == {"fetch": False, "clean": True, "report": True,
                                          "audit": False}
    # The same version again reuses everything; an older version reruns what differs.
    same = wf.rerun(again.run_id)
    assert same.wait(timeout=60) == "completed"
    assert set(executed(wf, same.run_id).values()) == {False}
    back = wf.rerun(again.run_id, version=1)
    assert back.wait(timeout=60) == "completed"
    assert (back.result("report"), executed(wf, back.run_id)) == (
        "sum=0", {"fetch": False, "clean": True, "report": True, "audit": False})


NOTEBOOK = textwrap.dedent('''
    from datatailr import task, workflow

    @task()
    def load():
        print("load ran")
        return [1, 2, 3]

    @task()
    def total(xs):
        raise ValueError("off by one")

    @workflow(name="notebook loop")
    def pipeline():
        total(load())

    run = pipeline(local_run=True, progress=False)
    print("first", run.run_id, run.state, run.run_details()["job_version"])

    # The user fixes the failing cell and resumes: one call.
    @task()
    def total(xs):
        return sum(xs)

    again = pipeline.rerun(run.run_id, local_run=True, progress=False)
    details = again.run_details()
    print("again", again.run_id, again.state, again.result("total"), details["job_version"],
          [(t["name"], t["result_from_run_id"]) for t in details["tasks"]])
    same = pipeline.rerun(again.run_id, local_run=True, progress=False)
    print("same", same.run_details()["job_version"], same.state,
          [(t["name"], t["result_from_run_id"]) for t in same.run_details()["tasks"]])
''')


def test_the_notebook_loop_fix_a_task_and_resume_in_one_call(home, tmp_path, run_python):
    (tmp_path / "nb.py").write_text(NOTEBOOK)
    done = run_python(tmp_path / "nb.py")
    assert done.stdout.splitlines() == [
        "first 1 failed 1",
        "again 2 completed 6 2 [('load', 1), ('total', None)]",
        "same 2 completed [('load', 1), ('total', 2)]",
    ]
    wf = Workflow("notebook loop")
    assert [v["job_version"] for v in wf.versions()] == [1, 2]  # an identical one is reused
    assert wf.logs(2, "load") == "load ran\n"  # the reused task's own log
    assert [r["original_run_id"] for r in wf.runs()] == [1, 1, None]


def test_wf_rerun_without_local_run_goes_to_the_agent(home, tmp_path, run_python):
    script = tmp_path / "chain.py"
    script.write_text(CHAIN.format(op=">", limit=10, audit="ok") + textwrap.dedent('''
        if __name__ == "__main__":
            import time
            from datatailr import Workflow
            from datatailr.scheduler.batch import Run
            Run(Workflow("chain"), 1).wait(timeout=60)
            rerun = pipeline.rerun(1)
            print(rerun.run_id, rerun.wait(timeout=60), rerun.result("report"))
    '''))
    done = run_python(script)
    assert done.stdout.splitlines()[-1] == "2 completed sum=0"
    wf = Workflow("chain")
    row = wf.runs()[0]
    assert (row["run_id"], row["trigger"], row["job_version"]) == (2, "rerun", 1)
    assert [v["job_version"] for v in wf.versions()] == [1]  # the same code: no new version
