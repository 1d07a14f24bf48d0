"""The commands that change things (job run/rerun/stop/promote/rm, agent start/stop/status,
log read --follow of a live run), each in a fresh home with real deploys and a real agent."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import cli_workflows as w
import pytest
from conftest import T, dt, dt_command, dt_error, dt_json, dt_process, masked, run_dict

from datatailr.scheduler.batch import Workflow

pytestmark = pytest.mark.usefixtures("fresh_home")


def _task_states(details: dict) -> list[tuple]:
    return [(t["id"], t["name"], t["state"], t["result_from_run_id"]) for t in details["tasks"]]


def _wait_for(predicate, timeout: float = 30, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


# ---------------------------------------------------------------- agent


def test_agent_status_start_stop(fresh_home: Path):
    stopped = {
        "running": False,
        "pid": None,
        "started_at": None,
        "log_file": str(fresh_home.resolve() / "agent" / "agent.log"),
        "home": str(fresh_home.resolve()),
        "queue": "default",
        "queues": ["default"],
    }
    assert dt_json("agent", "status") == stopped
    result = dt("agent", "status")
    assert result.stdout.splitlines() == [
        "agent:    not running",
        "queues:   default",
        f"log file: {stopped['log_file']}",
        f"home:     {stopped['home']}",
    ]

    started = dt_json("agent", "start", "--background")
    assert masked(started) == {**stopped, "running": True, "pid": T, "started_at": T}
    assert dt_json("agent", "status") == started
    again = dt("agent", "start", "--background")  # already running: says so, exit 0
    assert again.exit_code == 0
    assert again.stderr.startswith(f"The agent is already running (pid {started['pid']}).\n")

    assert dt_json("agent", "stop") == {"stopped": True, **stopped}
    result = dt("agent", "stop")
    assert (result.exit_code, result.stderr) == (0, "No agent was running.\n")


def test_agent_start_in_the_foreground_until_sigint(fresh_home: Path):
    proc = subprocess.Popen(
        [*dt_command(), "agent", "start"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    try:
        _wait_for(lambda: dt_json("agent", "status")["running"], what="the agent to run")
        assert dt_json("agent", "status")["pid"] == proc.pid
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert err.startswith("Running the agent in the foreground; Ctrl-C stops it.\n")
    assert err.endswith("The agent stopped.\n")
    assert dt_json("agent", "status")["running"] is False


# ---------------------------------------------------------------- run / rerun


def test_job_run_starts_a_deployed_workflow_on_the_agent():
    w.daily_sales_report(save_only=True)
    assert dt_json("job", "runs", "daily_sales_report") == []
    got = masked(dt_json("job", "run", "daily_sales_report", "--wait"))
    tasks = got.pop("tasks")
    assert got == {
        **run_dict(1, "Daily Sales Report", "completed", trigger="manual"),
        "error": None,
    }
    assert [(t["id"], t["name"], t["state"], t["attempts"]) for t in tasks] == [
        (0, "fetch_data", "completed", 1),
        (1, "calculate_total", "completed", 1),
    ]
    assert dt("result", "get", "daily_sales_report", "-t", "calculate_total").stdout == "450\n"
    # without --wait it returns at once with the run's number on stderr
    result = dt("job", "run", "daily_sales_report")
    assert result.exit_code == 0
    assert result.stderr == "Started run 2 of 'Daily Sales Report' in dev.\n"
    assert Workflow("daily_sales_report").runs(refresh=True)[0]["run_id"] == 2


def test_job_rerun_partial_then_full(tmp_path: Path):
    flag = tmp_path / "flags" / "fixed"
    first = w.fixable_pipeline(str(flag), local_run=True)
    assert first.state == "failed"

    failed = dt("job", "rerun", str(first.run_id), "--wait")
    assert failed.exit_code == 1
    assert failed.stderr.splitlines() == [
        "Started rerun of run 1 as run 2 of 'Fixable Pipeline' in dev.",
        "Error: Run 2 of 'Fixable Pipeline' ended failed: fail_until_flag failed; read its errors "
        "with `dt log read fixable-pipeline -i 2 -r -e dev`.",
    ]

    flag.parent.mkdir()
    flag.touch()
    got = masked(dt_json("job", "rerun", "2", "--wait"))
    assert _task_states(got) == [
        (0, "fetch_data", "completed", 1),  # reused from the first run
        (1, "fail_until_flag", "completed", None),
        (2, "calculate_total", "completed", None),
    ]
    del got["tasks"]
    assert got == {
        **run_dict(
            3, "Fixable Pipeline", "completed", trigger="rerun", original_run_id=1, rerun_of=2
        ),
        "error": None,
    }

    full = dt_json("job", "rerun", "3", "--full", "--wait", "--version", "1")
    assert (full["full"], full["rerun_of"], full["original_run_id"]) == (True, 3, 1)
    assert [t[3] for t in _task_states(full)] == [None, None, None]
    assert [r["run_id"] for r in dt_json("job", "runs", "fixable_pipeline")] == [4, 3, 2, 1]
    assert dt("log", "read", "fixable_pipeline", "-t", "fail_until_flag").stdout == "flag found\n"


def test_job_rerun_errors():
    w.daily_sales_report(local_run=True)
    assert dt_error("job", "rerun", "99") == "Error: No run with run_id 99."
    assert dt_error("job", "rerun", "1", "-e", "prod") == (
        "Error: Run 1 belongs to 'Daily Sales Report' in environment 'dev', not 'prod'."
    )
    assert dt_error("job", "rerun", "1", "--version", "4") == (
        "Error: Workflow 'Daily Sales Report' has no version 4 in 'dev'; versions: [1]."
    )


# ---------------------------------------------------------------- stop and --follow


def test_job_stop_a_running_run(tmp_path: Path):
    run = w.waiting_pipeline(str(tmp_path / "never"))
    _wait_for(lambda: run.state == "running", what="the run to start")
    got = masked(dt_json("job", "stop", str(run.run_id), "--wait"))
    assert got == {
        **run_dict(run.run_id, "Waiting Pipeline", "stopped", trigger="deploy"),
        "error": got["error"],
    }
    assert dt_error("job", "stop", str(run.run_id)) == (
        f"Error: Run {run.run_id} of 'Waiting Pipeline' is not running: it is stopped."
    )


def test_job_stop_by_name_stops_its_running_runs(tmp_path: Path):
    first = w.waiting_pipeline(str(tmp_path / "never"))
    _wait_for(lambda: first.state == "running", what="the run to start")
    got = dt_json("job", "stop", "waiting-pipeline", "--wait")
    assert [(r["run_id"], r["state"]) for r in got] == [(first.run_id, "stopped")]
    assert dt_error("job", "stop", "Waiting Pipeline") == (
        "Error: 'Waiting Pipeline' has no pending or running runs in dev: nothing to stop "
        "(`dt job runs waiting-pipeline -e dev` lists its runs)."
    )


def test_log_read_follow_streams_a_running_task(tmp_path: Path):
    flag = tmp_path / "flags" / "go"
    run = w.waiting_pipeline(str(flag))
    wf = Workflow("Waiting Pipeline")
    _wait_for(lambda: wf.logs(run.run_id, "wait_for_flag"), what="the task's first line")

    proc = subprocess.Popen(
        [*dt_command(), "log", "read", "waiting_pipeline", "--follow", "--interval", "0.1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    killer = threading.Timer(60, proc.kill)
    killer.start()
    try:
        # The first line arrives while the task still runs (it waits for the flag).
        assert proc.stdout.readline() == "waiting for the flag\n"
        assert run.state == "running"
        flag.parent.mkdir()
        flag.touch()
        out, err = proc.communicate(timeout=60)
    finally:
        killer.cancel()
    assert proc.returncode == 0, err
    assert out == "flag seen\n"
    assert err == f"Run {run.run_id} ended: completed.\n"


def test_log_read_follow_json_is_one_object_a_line(tmp_path: Path):
    flag = tmp_path / "flags" / "go"
    flag.parent.mkdir()
    flag.touch()
    run = w.waiting_pipeline(str(flag))
    result = dt("log", "read", "Waiting Pipeline", "-f", "--json", "--interval", "0.05")
    assert result.exit_code == 0
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert "".join(line.pop("text") for line in lines) == "waiting for the flag\nflag seen\n"
    assert all(
        line == {"run_id": run.run_id, "task_id": 0, "task_name": "wait_for_flag", "stderr": False}
        for line in lines
    )
    assert result.stderr == ""


# ---------------------------------------------------------------- versions / promote / rm


def test_job_promote_goes_from_the_given_environment_to_the_next():
    w.daily_sales_report(save_only=True)
    w.flaky_pipeline(save_only=True)
    w.daily_sales_report(save_only=True)
    versions = dt_json("job", "versions", "daily_sales_report")
    latest = versions[-1]["job_version"]

    # The hosted form: NAME VERSION ENV promotes VERSION from ENV to the environment after it.
    got = dt_json("job", "promote", "daily_sales_report", "1", "dev")
    assert got == {
        "name": "Daily Sales Report",
        "slug": "daily-sales-report",
        "environment": "dev",
        "job_version": 1,
        "to_environment": "pre",
        "new_job_version": 1,
    }
    result = dt("job", "promote", "Daily Sales Report", "latest", "DEV")
    assert result.stdout == (
        f"Promoted 'Daily Sales Report' version {latest} from dev to pre: version 2 there.\n"
    )
    assert masked(dt_json("job", "versions", "daily_sales_report", "-e", "pre")) == [
        {"job_version": 1, "created_at": T, "task_count": 2, "schedule": None, "removed": False},
        {"job_version": 2, "created_at": T, "task_count": 2, "schedule": None, "removed": False},
    ]
    assert [wf["name"] for wf in dt_json("job", "ls", "-e", "pre")] == ["Daily Sales Report"]
    # from pre to prod: the source given by --env, the version left out is the latest
    assert dt_json("job", "promote", "daily-sales-report", "-e", "pre") == {
        "name": "Daily Sales Report",
        "slug": "daily-sales-report",
        "environment": "pre",
        "job_version": 2,
        "to_environment": "prod",
        "new_job_version": 1,
    }
    # --to names the target: straight from dev to prod
    assert dt_json("job", "promote", "daily_sales_report", "1", "dev", "--to", "prod")[
        "new_job_version"] == 2
    assert [v["job_version"] for v in dt_json("job", "versions", "daily_sales_report",
                                              "-e", "prod")] == [1, 2]
    assert dt_error("job", "promote", "daily_sales_report", "1", "prod") == (
        "Error: 'Daily Sales Report': prod is the last environment, there is none after it to "
        "promote to. promote()'s first argument is the environment to promote from (dev -> pre "
        "-> prod), as on the hosted platform: to copy a version from dev straight to prod write "
        "promote('dev', to='prod')."
    )
    assert dt_error("job", "promote", "daily_sales_report", "1", "pre", "--to", "dev") == (
        "Error: Cannot promote 'Daily Sales Report' from pre to dev: promotion goes forward, "
        "dev -> pre -> prod; name a later environment with to=."
    )
    assert dt_error("job", "promote", "daily_sales_report", "9", "dev") == (
        f"Error: Workflow 'Daily Sales Report' has no version 9 in 'dev'; versions: "
        f"{[v['job_version'] for v in versions]}."
    )


def test_workflow_promote_has_the_hosted_semantics():
    from datatailr import Workflow

    w.daily_sales_report(save_only=True)
    dev = Workflow("daily_sales_report")
    assert (dev.promote(), dev.promote("pre"), dev.promote(version=1, to="prod")) == (1, 1, 2)
    prod = Workflow("daily_sales_report", environment="prod")
    assert [v["job_version"] for v in prod.versions()] == [1, 2]
    assert [Workflow("daily_sales_report", environment=e).definition()["tasks"]
            for e in ("pre", "prod")] == [dev.definition()["tasks"]] * 2


def test_job_rm_asks_first():
    w.daily_sales_report(local_run=True)
    w.flaky_pipeline(local_run=True)
    result = dt("job", "rm", "daily_sales_report", input="n\n")
    assert result.exit_code == 1
    assert result.stderr == "Remove workflow 'Daily Sales Report' from dev? [y/N]: n\nAborted!\n"
    assert len(dt_json("job", "ls")) == 2

    result = dt("job", "rm", "daily_sales_report", input="y\n")
    assert (result.exit_code, result.stdout) == (0, (
        "Removed 'Daily Sales Report' from dev. Undo with: dt job restore daily-sales-report "
        "-e dev\n"))
    assert dt_json("job", "rm", "flaky_pipeline", "--yes") == {
        "name": "Flaky Pipeline",
        "slug": "flaky-pipeline",
        "environment": "dev",
        "job_version": None,
        "removed": True,
        "purged": False,
    }
    assert dt_json("job", "ls") == []
    assert dt_error("log", "read", "daily_sales_report") == (
        "Error: No workflow 'daily_sales_report' in environment 'dev'. It was removed; bring it "
        "back with Workflow('daily_sales_report', get_existing=False).restore() or `dt job "
        "restore daily-sales-report -e dev`. Workflows there: (none yet)."
    )


def test_workflow_without_runs():
    w.daily_sales_report(save_only=True)
    assert dt_error("log", "read", "daily_sales_report") == (
        "Error: Workflow 'Daily Sales Report' has no runs in dev yet: start one with "
        "`dt job run daily-sales-report -e dev`."
    )
    [listed] = dt_json("job", "ls")
    assert (listed["state"], listed["last_run"], listed["recent_runs"]) == (None, None, [])
    result = dt("job", "ls")
    assert result.stdout.splitlines()[1].split() == [
        "Daily",
        "Sales",
        "Report",
        "1",
        "2",
        "-",
        "-",
        "-",
        "-",
    ]


def test_installed_dt_run_wait_exit_status(tmp_path: Path):
    w.flaky_pipeline(save_only=True)
    proc = dt_process("job", "run", "flaky_pipeline", "--wait", timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[-1] == (
        "Error: Run 1 of 'Flaky Pipeline' ended failed: explode failed; read its errors with "
        "`dt log read flaky-pipeline -i 1 -r -e dev`."
    )
    proc = dt_process("log", "read", "flaky-pipeline", "-i", "1", "-r", "-t", "explode")
    assert proc.returncode == 0
    assert proc.stdout.endswith("RuntimeError: no sales on 3 days\n")


def test_scheduled_workflow_shows_its_schedule():
    w.morning_report(save_only=True)
    [listed] = dt_json("job", "ls")
    assert {k: listed[k] for k in ("name", "job_version", "schedule", "schedule_description")} == {
        "name": "Morning Report",
        "job_version": 1,
        "schedule": "0 6 * * 1-5",
        "schedule_description": "At 06:00 AM, Monday through Friday",
    }
    assert dt("job", "ls").stdout.splitlines()[1].split() == [
        "Morning",
        "Report",
        "1",
        "2",
        "0",
        "6",
        "*",
        "*",
        "1-5",
        "(At",
        "06:00",
        "AM,",
        "Monday",
        "through",
        "Friday)",
        "-",
        "-",
        "-",
    ]
    lines = dt("job", "get", "morning_report").stdout.splitlines()
    assert lines[2] == "schedule: 0 6 * * 1-5 (At 06:00 AM, Monday through Friday)"
    assert masked(dt_json("job", "versions", "morning_report")) == [
        {"job_version": 1, "created_at": T, "task_count": 2, "schedule": "0 6 * * 1-5", "removed": False}
    ]


def test_job_rerun_with_the_latest_version(tmp_path: Path):
    first = w.daily_sales_report(local_run=True)
    w.daily_sales_report(save_only=True)
    w.complex_pipeline(save_only=True)  # another workflow's deploy does not count
    latest = Workflow("daily_sales_report").versions()[-1]["job_version"]
    got = dt_json("job", "rerun", str(first.run_id), "--version", "latest", "--full", "--wait")
    assert (got["job_version"], got["state"], got["rerun_of"]) == (latest, "completed", 1)
    assert (
        dt_json("job", "get", "daily_sales_report", "--version", "latest")["job_version"] == latest
    )


def test_log_read_attempt_reads_one_attempt_of_a_retried_task(tmp_path: Path):
    from tests.fixtures import failing_workflows

    run = failing_workflows.flaky(str(tmp_path), local_run=True, progress=False)
    name = "flaky_on_first_attempt"
    args = ("log", "read", "flaky", "-i", str(run.run_id), "-t", name)
    assert dt(*args).stdout == "trying, the marker is missing\ntrying, the marker is there\n"
    assert dt(*args, "--attempt", "2").stdout == "trying, the marker is there\n"
    assert dt(*args, "-a", "1", "-r").stdout.startswith("first attempt fails\n")
    assert dt_error(*args, "--attempt", "3") == (
        f"Error: attempt=3: task {name!r} of run {run.run_id} made 2 attempts; give attempt=1 "
        f"to 2, or none for all of them.")
    usage = dt("log", "read", "flaky", "--attempt", "2")
    assert (usage.exit_code, usage.stderr.splitlines()[-1]) == (
        2, "Error: --attempt reads one attempt of one task: give --task (or --child-num), and "
           "no --follow.")
