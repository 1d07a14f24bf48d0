"""The explorer's model without a browser: traits and messages over real local runs."""

from __future__ import annotations

import time
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest

from datatailr import Workflow
from datatailr.scheduler.batch import Run
from tests.fixtures import spec_workflows
from tests.jupyter_ext import explorer_workflows as ew

TIME_KEYS = ("start_time", "end_time", "created_at", "duration", "scheduled_time")


def strip_times(d: dict) -> dict:
    return {k: v for k, v in d.items() if k not in TIME_KEYS}


def run_row(run_id, state="completed", *, job_version=1, original=None, rerun_of=None,
            full=False, trigger="local"):
    return {"run_id": run_id, "state": state, "job_version": job_version,
            "original_run_id": original, "rerun_of": rerun_of, "full": full, "trigger": trigger}


def test_import_datatailr_loads_no_ipython_or_anywidget(run_python):
    done = run_python("import sys, datatailr, datatailr.jupyter_ext\n"
                      "print(sorted(m for m in ('IPython', 'anywidget', 'ipywidgets', 'traitlets')"
                      " if m in sys.modules))")
    assert done.stdout.strip() == "[]"


def test_overview_state_at_creation(explorer):
    spec_workflows.sales_pipeline(local_run=True, progress=False)
    spec_workflows.complex_pipeline(local_run=True, progress=False)
    spec_workflows.complex_pipeline(local_run=True, progress=False)
    w, _ = explorer()
    assert (w.environment, w.workflow, w.environments, w.error, w.status) == (
        "dev", "", ["dev", "pre", "prod"], "", "2 workflows in dev.")
    assert [(x["name"], x["slug"], x["task_count"], x["state"], x["job_version"],
             [r["run_id"] for r in x["recent_runs"]], sum(map(sum, x["activity"])))
            for x in w.workflows] == [
        ("Complex Pipeline", "complex-pipeline", 11, "completed", 1, [3, 2], 2),
        ("daily_sales_report", "daily-sales-report", 2, "completed", 1, [1], 1)]
    assert (w.runs, w.run_count, w.run_id, w.run, w.task) == ([], 0, None, {}, {})


def test_workflow_state_at_creation_has_the_first_page_and_the_newest_run(explorer):
    for _ in range(3):
        spec_workflows.complex_pipeline(local_run=True, progress=False)
    w, _ = explorer(workflow="Complex Pipeline", page_size=2)
    assert (w.workflow, w.run_count, w.page, w.run_id, w.status) == (
        "complex-pipeline", 3, 0, 3, "Complex Pipeline · dev")
    assert [strip_times(r) for r in w.runs] == [run_row(3), run_row(2)]
    assert [(t["id"], t["name"], t["state"], t["dependencies"]) for t in w.run["tasks"]] == [
        (0, "my_number", "completed", []), (1, "first_addition", "completed", [0]),
        (2, "num_0", "completed", []), (3, "num_1", "completed", []),
        (4, "num_2", "completed", []), (5, "num_3", "completed", []),
        (6, "num_4", "completed", []), (7, "reduce_list", "completed", [2, 3, 4, 5, 6]),
        (8, "add_one", "completed", [7]), (9, "add_two", "completed", [7]),
        (10, "add_three", "completed", [7])]
    assert [v["job_version"] for v in w.versions] == [1]


def test_unknown_workflow_shows_an_error_not_a_traceback(explorer):
    spec_workflows.sales_pipeline(local_run=True, progress=False)
    w, _ = explorer(workflow="no such thing")
    assert w.workflow == ""
    assert w.error == ("No workflow 'no such thing' in environment 'dev'. "
                       "Workflows there: daily-sales-report.")


def test_select_workflow_page_and_run(explorer):
    for _ in range(5):
        spec_workflows.sales_pipeline(local_run=True, progress=False)
    w, front = explorer(page_size=2)
    assert front("select_workflow", workflow="daily_sales_report") == {"type": "ack", "req": 1, "ok": True}
    assert ([r["run_id"] for r in w.runs], w.run_count, w.run_id) == ([5, 4], 5, 5)
    assert front("set_page", page=2)["ok"]
    assert ([r["run_id"] for r in w.runs], w.page, w.run_id) == ([1], 2, 5)
    assert front("set_page", page=99)["ok"]  # past the end: the last page
    assert ([r["run_id"] for r in w.runs], w.page) == ([1], 2)
    assert front("select_run", run_id=1)["ok"]
    assert (w.run_id, w.run["run_id"], [t["name"] for t in w.run["tasks"]]) == (
        1, 1, ["fetch_data", "calculate_total"])
    assert front("select_workflow", workflow="")["ok"]
    assert (w.workflow, w.runs, w.run_id, w.status) == ("", [], None, "1 workflow in dev.")
    # From the overview's strip: a workflow and one of its runs at once.
    assert front("select_workflow", workflow="daily_sales_report", run_id=2)["ok"]
    assert (w.workflow, w.run_id, w.page) == ("daily-sales-report", 2, 0)


def test_time_range_filters_runs(explorer):
    spec_workflows.sales_pipeline(local_run=True, progress=False)
    spec_workflows.sales_pipeline(local_run=True, progress=False)
    w, front = explorer(workflow="daily_sales_report")
    future = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    assert front("set_range", start_time=future, end_time=None)["ok"]
    assert (w.runs, w.run_count, w.run_id, w.run) == ([], 0, None, {})
    assert w.start_time.endswith("Z") and w.end_time == ""
    past = (datetime.now(timezone.utc) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert front("set_range", start_time=past, end_time=None)["ok"]
    assert ([r["run_id"] for r in w.runs], w.run_count, w.run_id) == ([2, 1], 2, 2)
    ack = front("set_range", start_time=future, end_time=past)
    assert ack == {"type": "ack", "req": 3, "ok": False,
                   "error": "The range starts after it ends: pick a start before the end."}
    assert w.error == "The range starts after it ends: pick a start before the end."
    assert front("set_range", start_time=None, end_time=None)["ok"]
    assert (w.start_time, w.end_time, w.run_count, w.error) == ("", "", 2, "")


def test_task_logs_and_result_are_text_as_the_task_wrote_them(explorer):
    run = ew.frame_report(local_run=True, progress=False)
    w, front = explorer(workflow="Frame Report")
    assert front("select_task", run_id=run.run_id, task_id=0)["ok"]
    task = w.task
    assert (task["task_name"], task["state"], task["stdout"], task["stderr"], task["result"]) == (
        "make_frame", "completed", f"making the frame\n{ew.SCRIPT}\n", f"{ew.IMG}\n", None)
    assert front("task_result")["ok"]
    assert w.task["result"] == {
        "kind": "table", "type": "pandas.DataFrame", "summary": "3 rows × 2 columns",
        "shape": [3, 2], "columns": ["region", "sales"],
        "dtypes": [w.task["result"]["dtypes"][0], "int64"], "index": ["0", "1", "2"],
        "index_name": "", "rows": [["north", "100"], ["south", "250"], ["<b>east</b>", "75"]],
        "truncated_rows": False, "truncated_columns": False}
    # With the result tab open, the front end asks for the next task's result at once.
    assert front("select_task", run_id=run.run_id, task_id=1, result=True)["ok"]
    assert w.task["result"]["text"] == "{'total': 425, 'note': '<i>not italic</i>'}"


def test_a_failed_task_shows_its_error_and_traceback(explorer):
    run = ew.failing_pipeline(local_run=True, progress=False)
    w, front = explorer(workflow="Failing Pipeline")
    assert w.run["state"] == "failed"
    assert front("select_task", run_id=run.run_id, task_id=0)["ok"]
    assert (w.task["state"], w.task["stdout"]) == ("failed", "about to fail\n")
    assert "ZeroDivisionError: cannot divide by zero" in w.task["stderr"]
    assert "ZeroDivisionError" in w.task["error"]
    assert front("task_result")["ok"]
    assert w.task["result"] == {"kind": "none", "type": "NoneType", "summary": ""}


def test_load_result_puts_the_value_in_the_kernel_and_asks_for_a_cell(explorer, shell):
    run = ew.frame_report(local_run=True, progress=False)
    w, front = explorer(workflow="Frame Report")
    ack = front("load_result", run_id=run.run_id, task_id=0)
    assert ack == {"type": "ack", "req": 1, "ok": True, "variable": "make_frame_1"}
    code = ("from datatailr import Workflow\n\n"
            "make_frame_1 = Workflow(name='Frame Report', environment='dev', "
            "get_existing=True).result(run_id=1, task_name='make_frame')\nmake_frame_1")
    assert front.other() == [{"type": "insert_cell", "code": code, "variable": "make_frame_1"}]
    assert w.loaded == {"variable": "make_frame_1", "code": code, "run_id": 1, "task_id": 0,
                        "task_name": "make_frame", "inserted": None, "in_kernel": True}
    expected = pd.DataFrame({"region": ["north", "south", "<b>east</b>"], "sales": [100, 250, 75]})
    pd.testing.assert_frame_equal(shell.user_ns["make_frame_1"], expected)
    # The inserted code, run, gives the same value back.
    ns: dict = {}
    exec(code, ns)
    pd.testing.assert_frame_equal(ns["make_frame_1"], expected)

    assert front("inserted", variable="make_frame_1", where="inserted@2", ok=True)["ok"]
    assert (w.loaded["inserted"], w.loaded["where"], w.status) == (
        True, "inserted@2", "Loaded into make_frame_1; the cell that loads it is below.")
    # Loading the same result again reuses its variable; a user's own variable is not clobbered.
    assert front("load_result", run_id=1, task_id=0)["variable"] == "make_frame_1"
    shell.user_ns["summarize_1"] = "mine"
    assert front("load_result", run_id=1, task_id=1)["variable"] == "summarize_1_2"
    assert shell.user_ns["summarize_1"] == "mine"
    assert shell.user_ns["summarize_1_2"] == {"total": 425, "note": "<i>not italic</i>"}
    assert front("inserted", variable="summarize_1_2", where="no-notebook-context", ok=False)["ok"]
    assert (w.loaded["inserted"], w.status) == (False, "Loaded into summarize_1_2. Copy the line "
                                                "below into a cell to load it again later.")


def test_rerun_shows_the_new_run_and_its_progress(explorer):
    first = ew.frame_report(local_run=True, progress=False)
    w, front = explorer(workflow="Frame Report")
    ack = front("rerun", run_id=first.run_id, version=None, full=False)
    assert ack == {"type": "ack", "req": 1, "ok": True, "run_id": 2}
    assert (w.run_id, w.page, w.status) == (2, 0, "Started run #2, a rerun of #1 with version 1.")
    assert [strip_times(r) for r in w.runs][0]["original_run_id"] == 1
    Run(Workflow("Frame Report"), 2).wait(timeout=60)
    assert w.poll_once() is False
    assert [strip_times(r) for r in w.runs] == [
        run_row(2, original=1, rerun_of=1, trigger="rerun"), run_row(1)]
    assert [(t["name"], t["state"], t["result_from_run_id"]) for t in w.run["tasks"]] == [
        ("make_frame", "completed", 1), ("summarize", "completed", 1)]
    assert w.live is False


def test_rerun_with_a_bad_version_is_an_error_in_the_widget(explorer):
    ew.frame_report(local_run=True, progress=False)
    w, front = explorer(workflow="Frame Report")
    ack = front("rerun", run_id=1, version=7, full=True)
    assert ack == {"type": "ack", "req": 1, "ok": False,
                   "error": "Workflow 'Frame Report' has no version 7 in 'dev'; versions: [1]."}
    assert (w.error, w.run_count) == (ack["error"], 1)
    assert front("dismiss_error")["ok"] and w.error == ""


def test_bad_messages_are_errors_in_the_widget(explorer):
    ew.frame_report(local_run=True, progress=False)
    w, front = explorer(workflow="Frame Report")
    assert front("fly_to_the_moon") == {"type": "ack", "req": 1, "ok": False,
                                        "error": "Unknown message type 'fly_to_the_moon'."}
    assert front("select_run", run_id=99)["error"] == (
        "Workflow 'Frame Report' (dev) has no run 99; its latest runs: [1].")
    assert front("select_task", run_id=1, task_id=42)["error"] == (
        "Run 1 has no task id 42; task ids: [0, 1].")
    assert front("set_page", page="two")["error"] == "page='two': give a whole number."
    assert front("set_environment", environment="staging")["error"] == (
        "Unknown environment 'staging': use one of 'dev', 'pre', 'prod' (or Environment.DEV/PRE/PROD).")
    # A message that is not a dict is ignored, not answered.
    w._on_custom_msg(w, "hello?", [])
    assert (w.run_id, w.environment) == (1, "dev")
    # A good action clears the last error.
    assert front("select_run", run_id=1)["ok"] and w.error == ""


def test_environment_switch(explorer):
    spec_workflows.sales_pipeline(local_run=True, progress=False)
    spec_workflows.sales_pipeline(local_run=True, progress=False, environment="prod")
    w, front = explorer(workflow="daily_sales_report", environment="prod")
    assert (w.environment, w.workflow, w.run_count, w.run_id) == ("prod", "daily-sales-report", 1, 2)
    assert front("set_environment", environment="dev")["ok"]
    assert (w.environment, w.workflow, w.run_id) == ("dev", "daily-sales-report", 1)
    assert front("set_environment", environment="pre")["ok"]
    assert (w.environment, w.workflow, w.workflows, w.status) == (
        "pre", "", [], "daily-sales-report does not exist in pre: showing the overview.")


def test_live_updates_follow_a_running_run(explorer, tmp_path):
    gate = tmp_path / "gate"
    wf_fn = ew.gated_pipeline
    wf_fn(str(gate))  # deploy: the agent starts it and the call returns at once
    w, front = explorer(workflow="Gated Pipeline")
    deadline = time.monotonic() + 60
    while w.run.get("tasks", [{}])[0].get("state") != "running" and time.monotonic() < deadline:
        assert w.poll_once() is True
        time.sleep(0.05)
    assert ([r["state"] for r in w.runs], [t["state"] for t in w.run["tasks"]]) == (
        ["running"], ["running", "pending"])
    assert front("select_task", run_id=w.run_id, task_id=0)["ok"]
    while "waiting for the gate" not in w.task["stdout"] and time.monotonic() < deadline:
        w.poll_once()
        time.sleep(0.05)
    assert (w.task["state"], w.task["stdout"], w.live) == ("running", "waiting for the gate\n", True)
    gate.touch()
    Run(Workflow("Gated Pipeline"), w.run_id).wait(timeout=60)
    assert w.poll_once() is False
    assert ([r["state"] for r in w.runs], [t["state"] for t in w.run["tasks"]], w.live) == (
        ["completed"], ["completed", "completed"], False)
    assert (w.task["state"], w.task["stdout"]) == ("completed", "waiting for the gate\ngate open\n")


def test_the_poller_thread_updates_without_messages_and_stops_on_close(explorer, tmp_path):
    gate = tmp_path / "gate"
    ew.gated_pipeline(str(gate))
    w, _ = explorer(workflow="Gated Pipeline", poll_interval=0.1, idle_interval=0.2)
    assert w.polling
    gate.touch()
    deadline = time.monotonic() + 60
    while w.run.get("state") != "completed" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [t["state"] for t in w.run["tasks"]] == ["completed", "completed"]
    w.close()
    assert not w.polling


def test_a_new_run_appears_on_the_first_page_by_itself(explorer):
    spec_workflows.sales_pipeline(local_run=True, progress=False)
    w, _ = explorer(workflow="daily_sales_report")
    spec_workflows.sales_pipeline(local_run=True, progress=False)
    assert w.poll_once() is False
    assert ([r["run_id"] for r in w.runs], w.run_count, w.run_id) == ([2, 1], 2, 1)


def test_polling_pauses_when_every_view_is_gone(explorer):
    w, front = explorer()
    assert w.polling_paused is False  # no front end yet: keep the state fresh
    front("hello")
    front("hello")
    front("bye")
    assert w.polling_paused is False
    front("bye")
    assert w.polling_paused is True
    front("hello")
    assert w.polling_paused is False
    assert [m["type"] for m in front.received] == ["ack", "ack", "ack"]  # bye is not answered


def test_refresh_picks_up_new_workflows(explorer):
    w, front = explorer()
    assert w.workflows == []
    spec_workflows.sales_pipeline(local_run=True, progress=False)
    assert front("refresh")["ok"]
    assert [x["slug"] for x in w.workflows] == ["daily-sales-report"]


@pytest.mark.parametrize("env_var", ["pre", "PROD"])
def test_default_environment_follows_the_job_environment_variable(explorer, monkeypatch, env_var):
    monkeypatch.setenv("DATATAILR_JOB_ENVIRONMENT", env_var)
    w, _ = explorer()
    assert w.environment == env_var.lower()


def test_a_partial_rerun_marks_reused_tasks_and_links_both_runs(explorer):
    ew.frame_report(local_run=True, progress=False)
    w, front = explorer(workflow="Frame Report")
    front("select_task", run_id=1, task_id=1)
    assert front("rerun", run_id=1)["run_id"] == 2  # no version: the latest
    Run(Workflow("Frame Report"), 2).wait(timeout=60)
    w.poll_once()
    # Switching runs kept the selected task.
    assert (w.run_id, w.task_id, w.task["task_name"]) == (2, 1, "summarize")
    assert ([t["reused"] for t in w.run["tasks"]], w.run["reused_count"],
            w.run["executed_count"], w.run["superseded_by"]) == ([True, True], 2, 0, [])
    assert front("select_run", run_id=1)["ok"]
    assert (w.run["superseded_by"], w.task_id) == ([2], 1)


def test_a_failed_run_says_where_and_its_task_logs_are_counted(explorer):
    ew.failing_pipeline(local_run=True, progress=False)
    ew.chatty(local_run=True, progress=False)
    w, front = explorer(workflow="Failing Pipeline")
    assert w.run["failure"] == {"task_id": 0, "task_name": "boom", "count": 1,
                                "error": "ZeroDivisionError: cannot divide by zero"}
    w2, front2 = explorer(workflow="Chatty")
    assert front2("select_task", run_id=2, task_id=0)["ok"]
    t = w2.task
    assert (t["stdout_lines"], t["stdout_truncated"], t["stdout"].count("\n"), t["stderr_lines"]) == (
        20_001, True, 1000, 1)
    assert t["stdout_code"] == ("Workflow(name='Chatty', environment='dev', get_existing=True)"
                                ".logs(run_id=2, task_name='talk', lines=20001)")
    ns: dict = {}
    exec("from datatailr import Workflow\ntext = " + t["stdout_code"], ns)
    assert ns["text"].count("\n") == 20_001
    ack = front2("log_search", stream="stdout", query="line 1999")
    assert (ack["total"], ack["matches"][:2]) == (11, [[1999, "line 1999 \x1b[31mred\x1b[0m"],
                                                      [19990, "line 19990 \x1b[31mred\x1b[0m"]])
    ack = front2("log_download", stream="stderr")
    assert (ack["text"], ack["filename"]) == ("done talking\n", "chatty-run2-talk.stderr.log")
    assert front2("log_search", stream="both", query="x")["error"] == "stream='both': use stdout or stderr."


def test_run_state_filter_grid_and_definition(explorer):
    ew.frame_report(local_run=True, progress=False)
    ew.frame_report_v2(local_run=True, progress=False)
    w, front = explorer(workflow="Frame Report")
    assert [r["job_version"] for r in w.runs] == [2, 1]
    assert front("set_filter", states=["failed"])["ok"]
    assert (w.state_filter, w.run_count, w.runs, w.run_id) == (["failed"], 0, [], None)
    assert front("set_filter", states=["nope"])["error"].startswith("Unknown run state 'nope': use one of ")
    assert front("set_filter", states=[])["ok"] and w.run_count == 2
    assert front("set_view", view="grid")["ok"]
    assert [r["run_id"] for r in w.grid["runs"]] == [2, 1]
    assert [(t["name"], sorted(t["cells"])) for t in w.grid["tasks"]] == [
        ("make_frame", ["1", "2"]), ("summarize", ["1", "2"]), ("extract", ["2"]), ("load", ["2"])]
    assert w.grid["tasks"][0]["cells"]["1"]["state"] == "completed"
    assert front("set_view", view="definition")["ok"]
    d = w.definition
    assert (d["job_version"], d["versions"], [t["name"] for t in d["tasks"]]) == (
        2, [1, 2], ["make_frame", "summarize", "extract", "load"])
    assert d["diff"].startswith("--- version 1\n+++ version 2\n")
    assert front("definition", version=1)["ok"] and (w.definition["job_version"], w.definition["diff"]) == (1, None)
    assert front("set_view", view="pie")["error"] == "view='pie': use one of graph, timeline, grid, definition."


def test_stop_a_running_run(explorer, tmp_path):
    ew.gated_pipeline(str(tmp_path / "never"))
    w, front = explorer(workflow="Gated Pipeline")
    deadline = time.monotonic() + 60
    while w.run.get("state") not in ("running",) and time.monotonic() < deadline:
        w.poll_once()
        time.sleep(0.05)
    ack = front("stop", run_id=w.run_id)
    assert (ack["ok"], ack["stopped"], w.status) == (True, True, f"Asked run #{w.run_id} to stop.")
    assert Run(Workflow("Gated Pipeline"), w.run_id).wait(timeout=60) == "stopped"
    assert front("stop", run_id=w.run_id)["stopped"] is False


def test_the_overview_says_when_a_scheduled_workflow_runs_next(explorer):
    from datetime import datetime, timedelta, timezone

    ew.nightly_load(save_only=True)
    w, _ = explorer()
    (wf,) = w.workflows
    nxt = datetime.fromisoformat(wf["next_run"].replace("Z", "+00:00"))
    now = datetime.now(timezone.utc)
    assert (wf["schedule"], nxt.hour, nxt.minute) == ("0 6 * * *", 6, 0)
    assert now < nxt <= now + timedelta(days=1)


def test_runs_filter_by_trigger_and_version_in_the_store(explorer):
    ew.frame_report(local_run=True, progress=False)
    ew.frame_report(local_run=True, progress=False)
    ew.frame_report_v2(local_run=True, progress=False)
    w, front = explorer(workflow="Frame Report", page_size=2)
    assert front("rerun", run_id=1)["run_id"] == 4  # queued on the agent: trigger "rerun"
    Run(Workflow("Frame Report"), 4).wait(timeout=120)
    w.poll_once()
    assert (w.trigger_filter, w.version_filter, w.run_count) == ([], [], 4)
    assert front("set_filter", triggers=["local"])["ok"]
    # Counted and paged by the store: page 1 holds the 3rd local run, not a page of all runs.
    assert (w.trigger_filter, w.run_count, [r["run_id"] for r in w.runs]) == (["local"], 3, [3, 2])
    assert front("set_page", page=1)["ok"] and [r["run_id"] for r in w.runs] == [1]
    assert front("set_filter", versions=[1])["ok"]  # the trigger filter stays
    assert (w.trigger_filter, w.version_filter, w.page, w.run_count,
            [r["run_id"] for r in w.runs]) == (["local"], [1], 0, 2, [2, 1])
    assert front("set_filter", triggers=["rerun"], versions=[2])["ok"]
    assert ([(r["run_id"], r["trigger"], r["job_version"]) for r in w.runs], w.run_id) == (
        [(4, "rerun", 2)], 4)
    assert front("set_filter", triggers=[], versions=[])["ok"] and w.run_count == 4
    assert front("set_filter", triggers=["cron"])["error"] == (
        "Unknown trigger 'cron': use one of local, deploy, manual, schedule, rerun.")
    assert front("set_filter", versions=[3])["error"] == (
        "Unknown version 3: this workflow has versions 1, 2.")
    assert front("set_filter", versions="2")["error"] == "versions='2': give a list of versions."
    assert (w.trigger_filter, w.version_filter, w.run_count) == ([], [], 4)
    assert front("set_filter", versions=[2], triggers=["local"])["ok"] and w.run_count == 1
    assert front("set_environment", environment="pre")["ok"]  # no Frame Report there
    assert (w.workflow, w.version_filter, w.trigger_filter) == ("", [], ["local"])


def test_reruns_of_a_run_come_from_the_store(explorer):
    ew.frame_report(local_run=True, progress=False)
    wf = Workflow("Frame Report")
    for _ in range(3):
        ew.frame_report(local_run=True, progress=False)
    wf.rerun(1, local_run=True, progress=False)  # run 5
    wf.rerun(5, local_run=True, progress=False)  # run 6
    wf.rerun(1, local_run=True, progress=False, full=True)  # run 7
    # A one-run page: the reruns are found even though none of them is on it.
    w, front = explorer(workflow="Frame Report", page_size=1)
    assert front("set_filter", versions=[1], triggers=["local"])["ok"]
    assert front("select_run", run_id=1)["ok"]
    assert (w.run["superseded_by"], [r["run_id"] for r in w.runs]) == ([5, 7], [7])
    assert front("select_run", run_id=5)["ok"] and w.run["superseded_by"] == [6]
    assert front("select_run", run_id=6)["ok"] and w.run["superseded_by"] == []


def deploy_services(run_python):
    """Price Service running on the agent, Price Sheet saved; returns the service's URL."""
    from datatailr.scheduler.job import list_jobs
    from tests.jupyter_ext import explorer_services

    run_python(Path(explorer_services.__file__))
    deadline = time.monotonic() + 90
    while True:
        job = next(j for j in list_jobs("dev") if j["name"] == "Price Service")
        if job["state"] == "running" and job["health"] == "healthy":
            return job["url"]
        assert time.monotonic() < deadline, job
        time.sleep(0.2)


def stop_services():
    from datatailr.scheduler.job import Service

    Service("Price Service", get_existing=True).stop(timeout=20)


def test_the_overview_lists_services_and_apps_with_their_state_and_url(explorer, run_python):
    ew.frame_report(local_run=True, progress=False)
    try:
        url = deploy_services(run_python)
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.read() == b"hello from the price service"
        w, front = explorer()
        # The workflow list holds workflows only; the jobs are their own list.
        assert [x["name"] for x in w.workflows] == ["Frame Report"]
        assert [strip_times(j) for j in w.jobs] == [
            {"name": "Price Service", "slug": "price-service", "kind": "service",
             "framework": None, "job_version": 1, "running_version": 1, "state": "running",
             "url": url, "last_start": w.jobs[0]["last_start"], "starts": 1},
            {"name": "Price Sheet", "slug": "price-sheet", "kind": "excel_addin",
             "framework": None, "job_version": 1, "running_version": None, "state": None,
             "url": None, "last_start": None, "starts": 0}]
        assert url.startswith("http://127.0.0.1:") and w.jobs[0]["last_start"].endswith("Z")
        assert w.status == "1 workflow and 2 services or apps in dev."
        text = w.text_view()
        assert "Services and apps (2)" in text and url in text
        stop_services()
        assert front("refresh")["ok"]
        assert [(j["name"], j["state"]) for j in w.jobs] == [
            ("Price Service", "stopped"), ("Price Sheet", None)]
    finally:
        stop_services()


def test_a_job_url_that_is_not_http_is_not_passed_on():
    from datatailr.jupyter_ext import _payload

    base = {"name": "x", "slug": "x", "job_type": "app", "job_version": 1}
    assert [_payload.job_json({**base, "url": u})["url"] for u in (
        "http://127.0.0.1:8000/", "javascript:alert(1)", "http://a b", None)] == [
        "http://127.0.0.1:8000/", None, None, None]


def failure_of(attempt: int) -> str:
    """What attempt 1 or 2 of Flaky Twice's task writes to stderr: a line, its traceback."""
    source = Path(ew.__file__).read_text().splitlines()
    line = next(i for i, text in enumerate(source, 1) if "raise RuntimeError" in text)
    return (f"attempt {attempt} fails\nTraceback (most recent call last):\n"
            f'  File "{ew.__file__}", line {line}, in fails_twice\n'
            f'    raise RuntimeError(f"transient failure {{attempt}}")\n'
            f"RuntimeError: transient failure {attempt}\n")


def logs_line(stderr: bool, lines: int, attempt: int | None, run_id: int = 1) -> str:
    return ("Workflow(name='Flaky Twice', environment='dev', get_existing=True)"
            f".logs(run_id={run_id}, task_name='fails_twice'" + (", stderr=True" if stderr else "")
            + f", lines={lines}" + (f", attempt={attempt}" if attempt else "") + ")")


def shown_logs(t: dict) -> tuple:
    return (t["attempts"], t["log_attempts"], t["attempt"], t["stdout"], t["stderr"],
            t["stdout_lines"], t["stderr_lines"], t["stdout_code"], t["stderr_code"])


def test_a_retried_task_shows_its_latest_attempt_and_any_other_on_request(explorer, tmp_path):
    marker = tmp_path / "attempts"
    marker.mkdir()
    assert ew.flaky_twice(str(marker), local_run=True, progress=False).state == "completed"
    w, front = explorer(workflow="Flaky Twice")
    assert front("select_task", run_id=1, task_id=0, result=True)["ok"]
    # The latest attempt by default: the one that made the result.
    assert (w.task["state"], w.task["result"]["text"]) == ("completed", "3")
    assert shown_logs(w.task) == (3, 3, 3, "attempt 3 starts\n", "", 1, 0,
                                  logs_line(False, 1, 3), logs_line(True, 1, 3))
    # Another attempt is one message away; the ack says which one is shown.
    ack = front("select_attempt", attempt=1)
    assert (ack["ok"], ack["attempt"]) == (True, 1)
    assert shown_logs(w.task) == (3, 3, 1, "attempt 1 starts\n", failure_of(1), 1, 5,
                                  logs_line(False, 1, 1), logs_line(True, 5, 1))
    assert w.task["result"]["text"] == "3"  # the result stays: it is the task's, not an attempt's
    # Search and download act on the shown attempt.
    found = front("log_search", stream="stderr", query="RuntimeError:")
    assert (found["matches"], found["total"]) == ([[5, "RuntimeError: transient failure 1"]], 1)
    got = front("log_download", stream="stderr")
    assert (got["text"], got["filename"]) == (
        failure_of(1), "flaky-twice-run1-fails_twice.attempt1.stderr.log")
    # All of them, oldest first, as the store appends them.
    assert front("select_attempt", attempt="all")["attempt"] is None
    assert shown_logs(w.task) == (
        3, 3, None, "attempt 1 starts\nattempt 2 starts\nattempt 3 starts\n",
        failure_of(1) + failure_of(2), 3, 10, logs_line(False, 3, None), logs_line(True, 10, None))
    found = front("log_search", stream="stderr", query="RuntimeError:")
    assert (found["matches"], found["total"]) == (
        [[5, "RuntimeError: transient failure 1"], [10, "RuntimeError: transient failure 2"]], 2)
    got = front("log_download", stream="stdout")
    assert (got["text"], got["filename"]) == (
        "attempt 1 starts\nattempt 2 starts\nattempt 3 starts\n",
        "flaky-twice-run1-fails_twice.stdout.log")
    # A refresh keeps the pick; selecting the task anew shows the latest again.
    assert front("select_attempt", attempt=2)["attempt"] == 2
    assert front("refresh")["ok"] and w.task["attempt"] == 2
    assert front("select_task", run_id=1, task_id=None)["ok"] and w.task == {}
    assert front("select_task", run_id=1, task_id=0)["ok"] and w.task["attempt"] == 3
    # Bad picks are refused, naming the choices; what is shown stays.
    for bad in (4, 0, "two", True):
        ack = front("select_attempt", attempt=bad)
        assert (ack["ok"], w.task["attempt"]) == (False, 3)
    assert [front("select_attempt", attempt=bad)["error"] for bad in (4, "two")] == [
        "attempt=4: task 'fails_twice' of run 1 made 3 attempts; pick 1 to 3, \"latest\" or \"all\".",
        "attempt='two': give a whole number."]
    # A partial rerun reuses the task: its logs, and so its attempts, are run 1's.
    Workflow("Flaky Twice").rerun(1, local_run=True, progress=False)
    assert front("select_task", run_id=2, task_id=0)["ok"]
    assert (w.task["result_from_run_id"], w.task["attempts"]) == (1, 0)
    assert shown_logs(w.task) == (0, 3, 3, "attempt 3 starts\n", "", 1, 0,
                                  logs_line(False, 1, 3, 2), logs_line(True, 1, 3, 2))
    assert front("select_attempt", attempt=2)["ok"]
    assert (w.task["stdout"], w.task["stderr"]) == ("attempt 2 starts\n", failure_of(2))


def test_a_running_retry_is_followed_unless_another_attempt_is_picked(explorer, tmp_path):
    gate = str(tmp_path / "gate")
    ew.retried_live(gate)  # deploy: the agent runs it
    w, front = explorer(workflow="Retried Live")

    def poll_until(done):
        deadline = time.monotonic() + 60
        while not done():
            assert time.monotonic() < deadline, w.task
            w.poll_once()
            time.sleep(0.05)

    poll_until(lambda: w.run.get("tasks", [{}])[0].get("state") == "running")
    assert front("select_task", run_id=w.run_id, task_id=0)["ok"]
    poll_until(lambda: w.task["stdout"] == "attempt 1 waits\n")
    assert (w.task["attempts"], w.task["log_attempts"], w.task["attempt"]) == (1, 1, None)
    Path(f"{gate}.1").touch()  # attempt 1 fails; the retry waits at its gate
    poll_until(lambda: w.task["stdout"] == "attempt 2 waits\n")
    assert (w.task["state"], w.task["log_attempts"], w.task["attempt"]) == ("running", 2, 2)
    # Picked, attempt 1 stays while the task runs on; "latest" follows again.
    assert front("select_attempt", attempt=1)["attempt"] == 1
    w.poll_once()
    assert (w.task["attempt"], w.task["stdout"]) == (1, "attempt 1 waits\nattempt 1 fails\n")
    assert front("select_attempt", attempt="latest")["attempt"] == 2
    Path(f"{gate}.2").touch()
    Run(Workflow("Retried Live"), w.run_id).wait(timeout=60)
    poll_until(lambda: w.task["state"] == "completed")
    assert (w.task["attempt"], w.task["stdout"]) == (2, "attempt 2 waits\nattempt 2 is done\n")


def test_a_task_run_once_has_one_log_and_no_attempt_to_pick(explorer):
    spec_workflows.sales_pipeline(local_run=True, progress=False)
    w, front = explorer(workflow="daily_sales_report")
    assert front("select_task", run_id=1, task_id=0)["ok"]
    assert (w.task["attempts"], w.task["log_attempts"], w.task["attempt"]) == (1, 1, None)
    assert "attempt=" not in w.task["stdout_code"]
    assert front("select_attempt", attempt=1)["attempt"] is None  # its one attempt: all of it
    assert front("select_attempt", attempt=2)["error"] == (
        "attempt=2: task 'fetch_data' of run 1 made 1 attempt; pick 1 to 1, \"latest\" or \"all\".")


def test_an_instant_run_handle_shows_as_the_explorer_on_its_run(home):
    from datatailr.scheduler.batch import InstantRunHandle, Workflow

    for _ in range(3):
        spec_workflows.complex_pipeline(local_run=True, progress=False)
    handle = InstantRunHandle(Workflow("Complex Pipeline"), 2)
    widget = handle.explorer()
    try:
        assert (widget.workflow, widget.environment, widget.run_id, widget.run["state"],
                len(widget.run["tasks"])) == ("complex-pipeline", "dev", 2, "completed", 11)
        assert widget.run_id != 3  # not the newest run: the handle's own
    finally:
        widget.close()
