"""Who runs what: agent queues, max_concurrent_runs, the registry of agents and heartbeats.

Real SQLite stores and real agent processes; where a test drives an agent's turn itself it
passes ``spawn=`` so the runs it claims are recorded instead of started.
"""

from __future__ import annotations

import json
import textwrap
import time

import pytest

from datatailr import Workflow, task, workflow
from datatailr.errors import AgentError, InvalidArgumentError
from datatailr.scheduler import agent as agent_mod
from datatailr.scheduler.execution import new_run, run_options


@task()
def one():
    return 1


@workflow(name="on gpu", queue="gpu")
def on_gpu():
    one()


@workflow(name="on default")
def on_default():
    one()


@workflow(name="one at a time", max_concurrent_runs=1)
def one_at_a_time():
    one()


def _queue_run(name: str) -> int:
    """A pending run of the latest version of ``name``, as a deploy records it."""
    from datatailr.scheduler.platform import current_platform

    platform = current_platform()
    wf = Workflow(name)
    row = wf._version_row(None)
    return new_run(platform, workflow_id=wf._row()["workflow_id"],
                   job_version=row["job_version"],
                   task_names=[t["name"] for t in row["definition"]["tasks"]],
                   trigger="manual", claimed=False,
                   options=run_options(row["definition"]["options"]))


def test_runs_are_queued_on_their_workflows_queue(home):
    on_gpu(save_only=True)
    on_default(save_only=True)
    gpu_run, default_run = _queue_run("on gpu"), _queue_run("on default")
    from datatailr.scheduler.platform import current_platform

    meta = current_platform().metadata
    assert [(r["run_id"], r["queue"]) for r in meta.pending_runs()] == [
        (gpu_run, "gpu"), (default_run, "default")]
    started_default: list[int] = []
    started_gpu: list[int] = []
    agent_mod.Agent(spawn=started_default.append).start_pending()
    agent_mod.Agent(spawn=started_gpu.append, queues=["gpu"]).start_pending()
    assert (started_default, started_gpu) == ([default_run], [gpu_run])
    assert Workflow("on gpu").definition()["options"]["queue"] == "gpu"


def test_max_concurrent_runs_holds_later_runs_pending(home):
    one_at_a_time(save_only=True)
    first, second = _queue_run("one at a time"), _queue_run("one at a time")
    from datatailr.scheduler.platform import current_platform

    meta = current_platform().metadata
    started: list[int] = []
    agent = agent_mod.Agent(spawn=started.append)
    agent.start_pending()
    agent.start_pending()
    assert started == [first]  # the second waits while the first is claimed
    meta.update_run(first, state="running")
    agent.start_pending()
    assert started == [first]
    meta.update_run(first, state="completed", end_time=time.time())
    agent.start_pending()
    assert started == [first, second]
    assert meta.get_run(second)["claimed_by"] == agent.agent_id


def test_an_agent_serving_several_queues_holds_each_and_is_registered(home):
    agent = agent_mod.Agent(queues=["gpu", "default", "gpu"])
    assert agent.queues == ["gpu", "default"]
    agent.acquire()
    try:
        assert [(a["agent_id"], a["queues"]) for a in agent_mod.live_agents()] == [
            (agent.agent_id, ["gpu", "default"])]
        assert agent_mod.live_agents("cpu") == []
        for queue in ("gpu", "default"):
            status = agent_mod.agent_status(queue)
            assert (status["running"], status["queues"], status["log_file"]) == (
                True, ["gpu", "default"], str(agent.paths["log"]))
        assert agent.paths["log"].name == "agent-gpu.log"
        with pytest.raises(AgentError) as info:
            agent_mod.Agent(queues=["cpu", "gpu"]).acquire()
        assert str(info.value).startswith("Another agent serving queue 'gpu' (pid ")
        assert str(info.value).endswith("stop it with `dt agent stop --queue gpu` first.")
        # the refused agent took nothing: cpu is still free
        assert agent_mod.agent_status("cpu")["running"] is False
        assert len(agent_mod.live_agents()) == 1
    finally:
        agent.release()
    assert agent_mod.live_agents() == []
    assert agent_mod.agent_status("gpu")["running"] is False


def test_a_run_whose_heartbeat_is_stale_on_another_machine_becomes_unknown(home):
    on_default(save_only=True)
    run_id = _queue_run("on default")
    from datatailr.scheduler.platform import current_platform

    meta = current_platform().metadata
    stopped = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC
    meta.update_run(run_id, state="running", host="a-machine-that-died", pid=4242,
                    claimed_by="a-machine-that-died:4242", heartbeat=stopped,
                    start_time=stopped - 5)
    agent_mod.Agent(spawn=lambda run_id: None).reconcile()
    run = meta.get_run(run_id)
    assert (run["state"], run["error"]) == (
        "unknown", "Its heartbeat stopped at 2023-11-14 22:13:20 UTC (on a-machine-that-died): "
                   "the process or machine running it is gone.")
    assert [t["state"] for t in meta.task_runs(run_id)] == ["did_not_run"]


def test_claims_of_an_agent_whose_heartbeat_is_stale_go_back_to_the_queue(home):
    on_default(save_only=True)
    run_id = _queue_run("on default")
    from datatailr.scheduler.platform import current_platform

    meta = current_platform().metadata
    meta.register_agent("gone-host:77", host="gone-host", pid=77, home="/elsewhere",
                        queues=["default"], now=time.time() - 600)
    assert meta.claim_run(run_id, "gone-host:77") is True
    assert agent_mod.live_agents() == []  # registered, but its heartbeat is stale
    started: list[int] = []
    agent = agent_mod.Agent(spawn=started.append)
    agent.reconcile()
    assert (meta.get_run(run_id)["claimed_by"], meta.list_agents()) == (None, [])
    agent.start_pending()
    assert started == [run_id]


def test_a_deploy_starts_an_agent_for_its_queue_and_the_run_completes(home, run_python,
                                                                       tmp_path):
    script = tmp_path / "gpu_flow.py"
    script.write_text(textwrap.dedent('''
        from datatailr import task, workflow

        @task()
        def double(x):
            return 2 * x

        @workflow(name="gpu flow", queue="gpu")
        def flow():
            double(21)

        if __name__ == "__main__":
            flow()
    '''))
    done = run_python(script)
    gpu = agent_mod.agent_status("gpu")
    assert gpu["running"] is True
    assert done.stdout.splitlines()[0] == (
        f"Deployed 'gpu flow' version 1 to dev: run 1 queued on queue 'gpu' (the local "
        f"agent, pid {gpu['pid']}). Follow it with: dt log read gpu-flow -e dev -i 1")
    assert agent_mod.agent_status()["running"] is False  # nobody started the default queue
    run = Workflow("gpu flow").run(1)
    assert run.wait(timeout=60) == "completed"
    assert run.result("double") == 42
    assert agent_mod.running_queues() == ["gpu"]
    info = json.loads(agent_mod._paths("gpu")["info"].read_text())
    assert info["queues"] == ["gpu"]


def test_a_queue_nobody_serves_is_named_when_the_store_is_shared(home, monkeypatch):
    monkeypatch.setattr(agent_mod, "shared_store", lambda: True)
    status = agent_mod.ensure_agent("gpu")
    assert status["running"] is False
    assert agent_mod.running_queues() == []  # nothing was started
    assert agent_mod.describe_agent(status) == (
        "queue 'gpu', which no agent serves yet: start one with `dt agent start --queue gpu` "
        "(the run waits, pending, until one does)")


@pytest.mark.parametrize("given, message", [
    ("GPU", "queue='GPU': a queue is named with 1-64 lower-case letters"),
    ("", "queue='': a queue is named with 1-64 lower-case letters"),
    (3, "queue=3: a queue is named with 1-64 lower-case letters"),
])
def test_a_bad_queue_name_is_refused_at_the_decorator(given, message):
    with pytest.raises(InvalidArgumentError) as info:
        workflow(queue=given)(lambda: None)
    assert str(info.value).startswith(message)


@pytest.mark.parametrize("given", [0, -1, 1.5, True, "2"])
def test_a_bad_max_concurrent_runs_is_refused_at_the_decorator(given):
    with pytest.raises(InvalidArgumentError) as info:
        workflow(max_concurrent_runs=given)(lambda: None)
    assert str(info.value).startswith(
        f"max_concurrent_runs={given!r}: give a whole number of at least 1")
