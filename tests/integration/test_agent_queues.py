"""Queues on a shared PostgreSQL store: agents on two "machines" (two homes, two processes)
serve their own queues, a deploy starts no agent of its own and names a queue nobody serves,
and `dt agent ls` shows every live agent of the store."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.postgres

DEPLOY = textwrap.dedent('''
    import os
    from datatailr import task, workflow

    @task()
    def where():
        return os.environ["DATATAILR_HOME"]

    @workflow(name="on gpu", queue="gpu")
    def on_gpu():
        where()

    @workflow(name="on default")
    def on_default():
        where()

    @workflow(name="on cpu", queue="cpu")
    def on_cpu():
        where()

    if __name__ == "__main__":
        on_gpu()
        on_default()
        on_cpu()
''')


def _env(home, db_url, storage):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATATAILR_")}
    return {**env, "DATATAILR_HOME": str(home), "DATATAILR_DB_URL": db_url,
            "DATATAILR_STORAGE_URL": storage, "PYTHONPATH": str(ROOT)}


def _wait(predicate, what, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_two_agents_serve_their_queues_and_a_deploy_names_the_unserved_one(
        postgres_database, tmp_path, monkeypatch):
    storage = f"local://{tmp_path / 'shared-storage'}"
    homes = {"default": tmp_path / "machine-a", "gpu": tmp_path / "machine-b"}
    agents = {queue: subprocess.Popen(
        [sys.executable, "-m", "datatailr.scheduler.agent", "--queue", queue],
        stdout=open(tmp_path / f"agent-{queue}.log", "wb"), stderr=subprocess.STDOUT,
        env=_env(home, postgres_database, storage), start_new_session=True)
        for queue, home in homes.items()}
    try:
        monkeypatch.setenv("DATATAILR_HOME", str(tmp_path / "laptop"))
        monkeypatch.setenv("DATATAILR_DB_URL", postgres_database)
        monkeypatch.setenv("DATATAILR_STORAGE_URL", storage)
        from datatailr import Workflow
        from datatailr.scheduler import agent as agent_mod

        live = _wait(lambda: len(agent_mod.live_agents()) == 2 and agent_mod.live_agents(),
                     "both agents in the registry")
        assert sorted((a["queues"], a["pid"]) for a in live) == sorted(
            ([q], p.pid) for q, p in agents.items())

        script = tmp_path / "deploy.py"
        script.write_text(DEPLOY)
        done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                              timeout=120, cwd=tmp_path,
                              env=_env(tmp_path / "laptop", postgres_database, storage))
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        import socket

        host = socket.gethostname()
        assert lines[0].startswith(
            f"Deployed 'on gpu' version 1 to dev: run 1 queued on queue 'gpu' (the agent on "
            f"{host}, pid {agents['gpu'].pid}).")
        assert lines[1].startswith(
            f"Deployed 'on default' version 1 to dev: run 2 queued on the agent on {host}, "
            f"pid {agents['default'].pid}.")
        assert lines[2].startswith(
            "Deployed 'on cpu' version 1 to dev: run 3 queued on queue 'cpu', which no agent "
            "serves yet: start one with `dt agent start --queue cpu`")
        assert done.stderr.splitlines() == [
            "Warning: no agent serves queue 'cpu'; start one with `dt agent start --queue cpu`."]
        # The deploy started no agent of its own.
        assert agent_mod.running_queues() == []

        gpu, default = Workflow("on gpu").run(1), Workflow("on default").run(2)
        assert (gpu.wait(timeout=90), default.wait(timeout=90)) == ("completed", "completed")
        assert gpu.result("where") == str(homes["gpu"])
        assert default.result("where") == str(homes["default"])
        [cpu] = Workflow("on cpu").runs()
        assert (cpu["run_id"], cpu["state"]) == (3, "pending")

        listed = subprocess.run([sys.executable, "-m", "datatailr.cli", "agent", "ls", "--json"],
                                capture_output=True, text=True, timeout=60,
                                env=_env(tmp_path / "laptop", postgres_database, storage))
        assert listed.returncode == 0, listed.stderr
        assert sorted((a["host"], a["pid"], a["queues"]) for a in json.loads(listed.stdout)) == \
            sorted((host, p.pid, [q]) for q, p in agents.items())
    finally:
        for process in agents.values():
            os.killpg(process.pid, signal.SIGTERM)
        for process in agents.values():
            process.wait(30)
    # Stopped agents leave the registry.
    from datatailr.scheduler import agent as agent_mod

    assert agent_mod.live_agents() == []
