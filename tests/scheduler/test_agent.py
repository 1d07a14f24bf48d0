"""Deploys, the agent, reruns, schedules and environments, end to end."""

from __future__ import annotations

import os
import signal
import textwrap
import time
from datetime import datetime, timezone

import pytest

from datatailr import Schedule, Workflow, task, workflow
from datatailr.errors import AgentError
from datatailr.scheduler import agent as agent_mod

PIPELINE = textwrap.dedent('''
    import time
    from pathlib import Path
    from datatailr import task, workflow

    @task()
    def fetch_data():
        print("fetch_data executed")
        return {{"sales": [100, 200, 150]}}

    @task()
    def calculate_total(data):
        {body}

    @task()
    def report(total):
        return f"total={{total}}"

    @workflow(name="daily_sales_report")
    def pipeline():
        report(calculate_total(fetch_data()))

    if __name__ == "__main__":
        pipeline({call})
''')

BROKEN = 'raise ValueError("bad data")'
FIXED = 'return sum(data["sales"])'


def write(folder, body=FIXED, call=""):
    path = folder / "my_workflow.py"
    path.write_text(PIPELINE.format(body=body, call=call))
    return path


def wait_state(run, timeout=60):
    return run.wait(timeout=timeout)


def executions_of(wf, run_id, name):
    """How often a task's code ran in a run (reused tasks did not run)."""
    [t] = [t for t in wf.run_details(run_id)["tasks"] if t["name"] == name]
    return t["attempts"], t["result_from_run_id"]


def test_deploy_returns_at_once_and_the_agent_runs_it(home, tmp_path, run_python):
    started = time.monotonic()
    done = run_python(write(tmp_path))
    assert time.monotonic() - started < 30
    assert done.stdout.startswith("Deployed 'daily_sales_report' version 1 to dev: run 1 queued")
    wf = Workflow("daily_sales_report")
    run_id = wf.runs()[0]["run_id"]
    from datatailr.scheduler.batch import Run

    assert wait_state(Run(wf, run_id)) == "completed"
    assert wf.result(run_id, "report") == "total=450"
    assert wf.runs(refresh=True)[0]["trigger"] == "deploy"
    assert agent_mod.agent_status()["running"] is True


def test_deploy_through_a_pipe_returns_without_waiting_for_the_agent(home, tmp_path):
    import subprocess
    import sys

    script = write(tmp_path)
    env = {**os.environ, "DATATAILR_HOME": str(home)}
    started = time.monotonic()
    done = subprocess.run(f"{sys.executable} {script} | cat", shell=True, env=env,
                          capture_output=True, text=True, timeout=60)
    assert time.monotonic() - started < 20  # the detached agent holds no pipe open
    assert "queued on the local agent" in done.stdout


def test_partial_rerun_after_fixing_the_code_in_a_new_version(home, tmp_path, run_python):
    run_python(write(tmp_path, body=BROKEN))
    wf = Workflow("daily_sales_report")
    from datatailr.scheduler.batch import Run

    first = wf.runs()[0]["run_id"]
    assert wait_state(Run(wf, first)) == "failed"
    run_python(write(tmp_path, body=FIXED, call="save_only=True"))
    assert [v["job_version"] for v in wf.versions()] == [1, 2]

    rerun = wf.rerun(first, version=2)
    assert wait_state(rerun) == "completed"
    assert executions_of(wf, rerun.run_id, "fetch_data") == (0, first)  # reused, not redone
    assert executions_of(wf, rerun.run_id, "calculate_total") == (1, None)
    assert rerun.result("report") == "total=450"
    assert rerun.result("fetch_data") == {"sales": [100, 200, 150]}
    assert rerun.logs("fetch_data") == "fetch_data executed\n"  # the original's log
    row = wf.runs(refresh=True)[0]
    assert (row["run_id"], row["original_run_id"], row["rerun_of"], row["job_version"],
            row["trigger"]) == (rerun.run_id, first, first, 2, "rerun")

    # A rerun of the rerun still points at the first run of the chain; full=True redoes all.
    again = wf.rerun(rerun.run_id, full=True)
    assert wait_state(again) == "completed"
    assert executions_of(wf, again.run_id, "fetch_data") == (1, None)
    assert wf.runs(refresh=True)[0]["original_run_id"] == first


def test_fix_redeploy_rerun_runs_the_fix_and_the_old_version_still_fails(
        home, tmp_path, run_python):
    run_python(write(tmp_path, body=BROKEN))
    wf = Workflow("daily_sales_report")
    first = wf.runs()[0]["run_id"]
    from datatailr.scheduler.batch import Run

    assert wait_state(Run(wf, first)) == "failed"
    run_python(write(tmp_path, body=FIXED, call="save_only=True"))
    fixed = wf.rerun(first)  # default: the latest version, as in the hosted SDK
    assert wait_state(fixed) == "completed"
    assert fixed.run_details()["job_version"] == 2
    assert fixed.result("report") == "total=450"
    assert executions_of(wf, fixed.run_id, "fetch_data") == (0, first)  # unchanged: reused
    old = wf.rerun(first, version=1)
    assert wait_state(old) == "failed"
    assert old.run_details()["job_version"] == 1
    with pytest.raises(ValueError, match=r"has no version 7 .* versions: \[1, 2\]"):
        wf.rerun(first, version=7)


def test_two_agents_cannot_share_a_home(home):
    status = agent_mod.start_agent(background=True)
    with pytest.raises(AgentError) as info:
        agent_mod.Agent().acquire()
    assert f"Another agent (pid {status['pid']}" in str(info.value)
    assert agent_mod.stop_agent() is True
    assert agent_mod.agent_status()["running"] is False
    assert agent_mod.stop_agent() is False


SLOW = textwrap.dedent('''
    import time
    from datatailr import task, workflow

    @task()
    def quick():
        return "kept"

    @task()
    def slow(x):
        time.sleep({seconds})
        return x

    @workflow(name="slow")
    def pipeline():
        slow(quick())

    if __name__ == "__main__":
        pipeline()
''')


def _wait_task_running(wf, run_id, name, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tasks = {t["name"]: t["state"] for t in wf.run_details(run_id)["tasks"]}
        if tasks[name] == "running":
            return
        time.sleep(0.05)
    raise AssertionError(f"{name} never started: {tasks}")


def test_agent_killed_mid_run_loses_nothing(home, tmp_path, run_python):
    (tmp_path / "slow.py").write_text(SLOW.format(seconds=1.5))
    run_python(tmp_path / "slow.py")
    wf = Workflow("slow")
    run_id = wf.runs()[0]["run_id"]
    _wait_task_running(wf, run_id, "slow")
    os.kill(agent_mod.agent_status()["pid"], signal.SIGKILL)
    from datatailr.scheduler.batch import Run

    # The run's own process carries on without the agent and records everything.
    assert wait_state(Run(wf, run_id)) == "completed"
    assert wf.result(run_id, "slow") == "kept"


def test_a_run_whose_process_dies_is_unknown_and_its_rerun_reuses_completed_tasks(
        home, tmp_path, run_python):
    (tmp_path / "slow.py").write_text(SLOW.format(seconds=60))
    run_python(tmp_path / "slow.py")
    wf = Workflow("slow")
    run_id = wf.runs()[0]["run_id"]
    _wait_task_running(wf, run_id, "slow")
    # The machine goes down: the agent and the run's process die together.
    runner_pid = wf.run_details(run_id) and _run_pid(run_id)
    os.kill(agent_mod.agent_status()["pid"], signal.SIGKILL)
    os.killpg(runner_pid, signal.SIGKILL)
    time.sleep(0.3)
    agent_mod.start_agent(background=True)  # marks it unknown at start
    from datatailr.scheduler.batch import Run

    assert wait_state(Run(wf, run_id), timeout=30) == "unknown"
    states = {t["name"]: t["state"] for t in wf.run_details(run_id)["tasks"]}
    assert states == {"quick": "completed", "slow": "unknown"}
    assert wf.result(run_id, "quick") == "kept"
    rerun = wf.rerun(run_id)
    _wait_task_running(wf, rerun.run_id, "slow")
    assert executions_of(wf, rerun.run_id, "quick") == (0, run_id)
    wf.stop(rerun.run_id)
    assert wait_state(rerun) == "stopped"
    assert {t["name"]: t["state"] for t in rerun.run_details()["tasks"]} == {
        "quick": "completed", "slow": "stopped"}


def _run_pid(run_id):
    from datatailr.scheduler.platform import current_platform

    return current_platform().metadata.get_run(run_id)["pid"]


# -- schedules, with the agent's clock in the test's hand ---------------------------------

@task()
def tick_task():
    return "ticked"


@workflow(name="every minute", schedule=Schedule(cron_expression="* * * * *"))
def every_minute():
    tick_task()


def _ts(text):
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()


def test_schedule_fires_once_per_due_time_and_catches_up_once(home, monkeypatch):
    every_minute(save_only=True)
    from datatailr.scheduler.platform import current_platform

    meta = current_platform().metadata
    version = meta.scheduled_versions()[0]
    created = version["created_at"]
    clock = {"now": created}
    spawned = []
    agent = agent_mod.Agent(now=lambda: clock["now"], spawn=spawned.append)

    minute = (int(created // 60) + 1) * 60  # the next minute boundary after the deploy
    clock["now"] = minute - 1
    assert agent.fire_schedules(clock["now"]) == []
    clock["now"] = minute + 5
    [first] = agent.fire_schedules(clock["now"])
    assert agent.fire_schedules(clock["now"]) == []  # same due time: nothing new
    restarted = agent_mod.Agent(now=lambda: clock["now"], spawn=spawned.append)
    assert restarted.fire_schedules(clock["now"] + 30) == []  # restart within the minute

    clock["now"] = minute + 3600 + 10  # an hour of downtime: one catch-up run, not 60
    [catch_up] = restarted.fire_schedules(clock["now"])
    wf = Workflow("every minute")
    runs = {r["run_id"]: r for r in wf.runs()}
    assert sorted(runs) == [first, catch_up]
    assert (runs[first]["scheduled_time"].timestamp(), runs[first]["trigger"]) == (
        minute, "schedule")
    assert runs[catch_up]["scheduled_time"].timestamp() == minute + 3600
    restarted.start_pending()
    assert spawned == [first, catch_up]


def test_a_schedule_fires_in_real_time(home):
    every_minute()  # deploy: the agent starts and waits for the next minute
    wf = Workflow("every minute")
    deadline = time.monotonic() + 75
    while time.monotonic() < deadline and not wf.runs(refresh=True):
        time.sleep(0.5)
    [run] = wf.runs(refresh=True)
    assert run["trigger"] == "schedule"
    assert run["scheduled_time"].second == 0
    from datatailr.scheduler.batch import Run

    assert wait_state(Run(wf, run["run_id"])) == "completed"
    assert wf.result(run["run_id"], "tick_task") == "ticked"


def test_local_run_with_a_schedule_is_refused(home):
    with pytest.raises(ValueError, match="has a schedule"):
        every_minute(local_run=True)


def test_expire_after_ages_out_results(home):
    @workflow(name="short lived", expire_after="1h")
    def short_lived():
        tick_task()

    run = short_lived(local_run=True, progress=False)
    assert run.result("tick_task") == "ticked"
    agent = agent_mod.Agent(now=time.time, spawn=lambda run_id: None)
    assert agent.expire(time.time()) == 0
    assert agent.expire(time.time() + 3601) == 1
    assert run.result("tick_task") is None
    assert run.run_details()["tasks"][0]["state"] == "expired"


# -- environments and versions -------------------------------------------------------------

def test_promote_versions_and_remove(home):
    @workflow(name="promotable")
    def promotable():
        tick_task()

    promotable(save_only=True)
    promotable(save_only=True)
    dev = Workflow("promotable")
    assert [v["job_version"] for v in dev.versions()] == [1, 2]
    assert dev.promote(version=1, to="prod") == 1
    prod = Workflow("promotable", environment="prod")
    assert [(v["job_version"], v["task_count"]) for v in prod.versions()] == [(1, 1)]
    run = prod.start()
    assert wait_state(run) == "completed"
    assert [r["run_id"] for r in dev.runs()] == []  # histories stay separate
    dev.remove()
    with pytest.raises(ValueError, match="No workflow 'promotable' in environment 'dev'. "
                                         "It exists in: prod."):
        Workflow("promotable")
    assert Workflow("promotable", environment="prod").runs()[0]["state"] == "completed"


def test_fail_after_on_a_deployed_run(home):
    @task()
    def sleeps():
        time.sleep(30)

    @workflow(name="too slow", fail_after=0.5)
    def too_slow():
        sleeps()

    run = too_slow()
    assert wait_state(run) == "failed_after"
    assert run.run_details()["tasks"][0]["state"] == "stopped"
