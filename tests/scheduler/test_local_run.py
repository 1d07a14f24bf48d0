"""Local runs end to end, read back through the public Workflow handle."""

from __future__ import annotations

import os
import textwrap
from datetime import datetime, timedelta, timezone

import pytest

from datatailr import Environment, Workflow, task, workflow
from datatailr.errors import NotFoundError, RunFailedError
from tests.fixtures import failing_workflows, spec_workflows


def states(run):
    return {t["name"]: t["state"] for t in run.run_details()["tasks"]}


def test_spec_sales_pipeline_runs_and_reads_back(home, capsys):
    run = spec_workflows.sales_pipeline(local_run=True)
    assert (run.state, run.result("calculate_total"), run.result("fetch_data")) == (
        "completed", 450, {"sales": [100, 200, 150]})
    out = capsys.readouterr().out
    assert "✓ fetch_data completed" in out and f"■ run {run.run_id} completed" in out

    wf = Workflow(name="daily_sales_report", environment=Environment.DEV, get_existing=True)
    [listed] = wf.runs()
    assert set(listed) == {"run_id", "workflow", "slug", "environment", "state", "job_version",
                           "start_time", "end_time", "created_at", "duration",
                           "original_run_id", "rerun_of", "full", "trigger", "scheduled_time"}
    assert {k: listed[k] for k in ("run_id", "state", "job_version", "original_run_id",
                                   "trigger", "environment")} == {
        "run_id": run.run_id, "state": "completed", "job_version": 1, "original_run_id": None,
        "trigger": "local", "environment": "dev"}
    assert listed["start_time"].tzinfo == timezone.utc
    assert listed["start_time"] <= listed["end_time"]

    details = wf.run_details(run.run_id)
    assert [(t["id"], t["name"], t["state"], t["dependencies"], t["attempts"])
            for t in details["tasks"]] == [
        (0, "fetch_data", "completed", [], 1), (1, "calculate_total", "completed", [0], 1)]
    assert wf.result(run_id=run.run_id, task_name="calculate_total") == 450
    assert wf.result(run_id=run.run_id, task_id=0) == {"sales": [100, 200, 150]}


def test_workflow_lookup_by_display_name_or_slug(home):
    spec_workflows.complex_pipeline(local_run=True)
    assert Workflow("Complex Pipeline").slug == Workflow("complex-pipeline").slug
    assert Workflow("complex-pipeline").name == "Complex Pipeline"


def test_spec_complex_pipeline_results(home):
    run = spec_workflows.complex_pipeline(local_run=True, progress=False)
    assert {name: run.result(name) for name in
            ["my_number", "first_addition", "reduce_list", "add_one", "add_two", "add_three"]
            } == {"my_number": 42, "first_addition": 55, "reduce_list": 210, "add_one": 211,
                  "add_two": 212, "add_three": 213}


def test_logs_are_exactly_what_the_task_wrote(home):
    @task()
    def chatty():
        import sys

        print("line 1")
        print("line 2")
        print("to stderr", file=sys.stderr)
        from datatailr.logging import DatatailrLogger

        log = DatatailrLogger("chatty").get_logger()
        log.info("info goes to stdout")
        log.warning("warning goes to stderr")
        return None

    @workflow(name="chatty")
    def wf():
        chatty()

    run = wf(local_run=True, progress=False)
    out = run.logs("chatty")
    err = run.logs("chatty", stderr=True)
    assert out.splitlines()[:2] == ["line 1", "line 2"]
    assert out.splitlines()[2].endswith("INFO chatty: info goes to stdout")
    assert err.splitlines()[0] == "to stderr"
    assert err.splitlines()[1].endswith("WARNING chatty: warning goes to stderr")
    handle = Workflow("chatty")
    assert handle.logs(run.run_id, "chatty", lines=1) == out.splitlines(keepends=True)[-1]
    assert handle.result(run.run_id, "chatty") is None


def test_a_failing_task_fails_the_run_and_skips_only_its_downstream(home):
    run = failing_workflows.failing(local_run=True, progress=False)
    assert run.state == "failed"
    assert states(run) == {"source": "completed", "raises": "failed",
                           "other_source": "completed", "downstream": "did_not_run",
                           "independent": "completed"}
    assert run.failed_tasks == ["raises"]
    err = run.logs("raises", stderr=True)
    assert err.startswith("Traceback (most recent call last):\n")
    assert err.rstrip().endswith("ZeroDivisionError: cannot divide 1 by zero")
    assert run.logs("raises") == "about to fail\n"
    assert run.result("raises") is None
    assert run.result("independent") == "still ran"
    details = run.run_details()
    assert details["error"] == "Failed task: raises"
    assert [t["error"] for t in details["tasks"] if t["name"] == "raises"] == [
        "ZeroDivisionError: cannot divide 1 by zero"]


def test_raise_on_failure_option(home):
    with pytest.raises(RunFailedError, match="failed: Failed task: raises"):
        failing_workflows.failing(local_run=True, progress=False, raise_on_failure=True)


def test_crashing_workers_fail_their_task_only(home):
    run = failing_workflows.crashing(local_run=True, progress=False)
    details = {t["name"]: (t["state"], t["error"]) for t in run.run_details()["tasks"]}
    assert details["exits"][0] == "failed"
    assert details["exits"][1].startswith(
        "Task crashed: the worker process running it exited with code 3 (pid ")
    assert details["killed"][1].startswith(
        "Task crashed: the worker process running it killed by SIGKILL (pid ")
    assert details["segfaults"][1].startswith(
        "Task crashed: the worker process running it killed by SIGSEGV (pid ")
    assert details["returns_lock"] == (
        "failed", "UnpicklableResultError: the return value (_thread.lock) cannot be pickled: "
        "TypeError: cannot pickle '_thread.lock' object. Return plain data (numbers, strings, "
        "lists, dicts, DataFrames, arrays) instead of open files, locks, connections or "
        "generators.")
    assert (details["downstream"], details["independent"], details["source"]) == (
        ("did_not_run", None), ("completed", None), ("completed", None))
    assert run.state == "failed"


def test_a_hanging_task_times_out(home):
    run = failing_workflows.hanging(local_run=True, progress=False)
    assert states(run) == {"hangs": "failed", "independent": "completed"}
    assert run.run_details()["tasks"][0]["error"] == (
        "TimeoutError: task exceeded its timeout of 0.3 s and was killed")


def test_retries_are_counted(home, tmp_path):
    run = failing_workflows.flaky(str(tmp_path), local_run=True, progress=False)
    [t] = run.run_details()["tasks"]
    assert (run.state, t["state"], t["attempts"]) == ("completed", "completed", 2)
    name = "flaky_on_first_attempt"
    assert run.logs(name, stderr=True).startswith("first attempt fails\n")
    # Both attempts are in the log, oldest first; attempt=N reads one.
    assert run.logs(name) == ("trying, the marker is missing\n"
                              "trying, the marker is there\n")
    assert [run.logs(name, attempt=n) for n in (1, 2)] == [
        "trying, the marker is missing\n", "trying, the marker is there\n"]
    assert run.logs(name, stderr=True, attempt=1) == run.logs(name, stderr=True)
    assert run.logs(name, stderr=True, attempt=2) == ""
    with pytest.raises(ValueError) as info:
        run.logs(name, attempt=3)
    assert str(info.value) == (
        f"attempt=3: task {name!r} of run {run.run_id} made 2 attempts; give attempt=1 to 2, "
        f"or none for all of them.")


def test_environments_keep_separate_histories(home, monkeypatch):
    spec_workflows.sales_pipeline(local_run=True, progress=False)
    spec_workflows.sales_pipeline(local_run=True, progress=False, environment="PROD")
    monkeypatch.setenv("DATATAILR_JOB_ENVIRONMENT", "pre")
    spec_workflows.sales_pipeline(local_run=True, progress=False)
    counts = {env: len(Workflow("daily_sales_report", environment=env).runs())
              for env in ("dev", "pre", "prod")}
    assert counts == {"dev": 1, "pre": 1, "prod": 1}
    with pytest.raises(ValueError, match="Unknown environment 'staging'"):
        spec_workflows.sales_pipeline(local_run=True, environment="staging")


def test_unknown_names_list_what_exists(home):
    run = spec_workflows.sales_pipeline(local_run=True, progress=False)
    with pytest.raises(NotFoundError) as info:
        Workflow("nope")
    assert str(info.value) == (
        "No workflow 'nope' in environment 'dev'. Workflows there: daily-sales-report.")
    wf = Workflow("daily_sales_report")
    with pytest.raises(ValueError) as info:
        wf.result(run.run_id, "fetch")
    assert str(info.value) == (
        f"Run {run.run_id} of 'daily_sales_report' has no task 'fetch'; its tasks: "
        f"fetch_data, calculate_total.")
    with pytest.raises(ValueError, match=r"has no run 999; its latest runs: \[1\]"):
        wf.logs(999, "fetch_data")
    with pytest.raises(ValueError, match="has no task id 7"):
        wf.logs(run.run_id, task_id=7)


def test_runs_time_bounds_and_refresh(home):
    wf_fn = spec_workflows.sales_pipeline
    first = wf_fn(local_run=True, progress=False)
    wf = Workflow("daily_sales_report")
    assert [r["run_id"] for r in wf.runs()] == [first.run_id]
    second = wf_fn(local_run=True, progress=False)
    assert [r["run_id"] for r in wf.runs()] == [first.run_id]  # cached on the instance
    assert [r["run_id"] for r in wf.runs(refresh=True)] == [second.run_id, first.run_id]
    start_second = wf.run_details(second.run_id)["start_time"]
    assert [r["run_id"] for r in wf.runs(start_time=start_second)] == [second.run_id]
    assert [r["run_id"] for r in wf.runs(end_time=start_second - timedelta(microseconds=1))
            ] == [first.run_id]
    future = datetime.now(timezone.utc) + timedelta(days=1)
    assert wf.runs(start_time=future) == []
    assert [r["run_id"] for r in wf.runs(limit=1, offset=1)] == [first.run_id]
    assert wf.count_runs() == 2


def test_system_arguments_and_env_override(home, monkeypatch):
    @task()
    def stamp(rundate, job_name, batch_name, started_at):
        return rundate, job_name, batch_name, started_at[:10]

    @workflow(name="stamped")
    def wf():
        stamp().alias("the_stamp")

    today = datetime.now(timezone.utc).date().isoformat()
    run = wf(local_run=True, progress=False)
    assert run.result("the_stamp") == (today, "the_stamp", "stamped", today)
    monkeypatch.setenv("DATATAILR_BATCH_ARG_RUNDATE", "2026-04-09")
    run = wf(local_run=True, progress=False)
    assert run.result("the_stamp")[0] == "2026-04-09"


def test_workers_see_the_callers_sys_path_and_environment(home, tmp_path, monkeypatch):
    pkg = tmp_path / "late_added"
    pkg.mkdir()
    (pkg / "helper_mod_for_test.py").write_text("VALUE = 'from a path added at run time'\n")
    monkeypatch.syspath_prepend(str(pkg))
    monkeypatch.setenv("SEEN_BY_TASK", "yes")

    @task()
    def look():
        import os

        import helper_mod_for_test

        return (helper_mod_for_test.VALUE, os.environ.get("SEEN_BY_TASK"),
                os.environ.get("PER_TASK"))

    @workflow(name="sees")
    def wf():
        look().update_env_vars({"PER_TASK": "set"})

    run = wf(local_run=True, progress=False)
    # Here, tasks are this process's children and see its environment; on a cluster
    # (tests/integration runs this test there too) only declared variables travel.
    on_cluster = os.environ.get("DATATAILR_EXECUTOR", "").startswith("dask")
    assert run.result("look") == ("from a path added at run time",
                                  None if on_cluster else "yes", "set")


def test_identical_code_reuses_the_version_and_changed_code_makes_a_new_one(home):
    spec_workflows.sales_pipeline(local_run=True, progress=False)
    spec_workflows.sales_pipeline(local_run=True, progress=False)
    wf = Workflow("daily_sales_report")
    assert [v["job_version"] for v in wf.versions()] == [1]

    @workflow(name="daily_sales_report")
    def changed():
        spec_workflows.fetch_data()

    changed(local_run=True, progress=False)
    assert [v["job_version"] for v in wf.versions()] == [1, 2]
    assert [r["job_version"] for r in wf.runs(refresh=True)] == [2, 1, 1]


def test_to_json_returns_the_definition(home):
    import json

    text = spec_workflows.sales_pipeline(to_json=True)
    d = json.loads(text)
    assert (d["name"], d["slug"], [t["name"] for t in d["tasks"]], d["tasks"][1]["dependencies"]
            ) == ("daily_sales_report", "daily-sales-report",
                  ["fetch_data", "calculate_total"], [0])


def test_results_are_read_back_in_another_process(home, run_python):
    run = spec_workflows.complex_pipeline(local_run=True, progress=False)
    done = run_python(textwrap.dedent(f"""
        from datatailr.scheduler.batch import Workflow
        wf = Workflow(name="Complex Pipeline", get_existing=True)
        print(wf.result(run_id={run.run_id}, task_name="add_two"), wf.runs()[0]["state"])
    """))
    assert done.stdout == "212 completed\n"


def test_a_workflow_built_in_a_loop_with_hundreds_of_tasks(home):
    @task()
    def leaf(i):
        return i

    @task()
    def layer_sum(*values):
        return sum(values)

    @workflow(name="wide loop")
    def wide():
        layer = [leaf(i).alias(f"leaf_{i:03d}") for i in range(300)]
        sums = [layer_sum(*layer[i:i + 30]).alias(f"sum_{i // 30}") for i in range(0, 300, 30)]
        layer_sum(*sums).alias("total")

    run = wide(local_run=True, progress=False)
    details = run.run_details()
    assert (run.state, len(details["tasks"]), run.result("total")) == (
        "completed", 311, sum(range(300)))
    assert details["tasks"][0]["resources"] == {"memory": "100m", "cpu": 1.0, "vram": None}
