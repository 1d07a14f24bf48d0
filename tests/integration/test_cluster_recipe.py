"""docs/cluster.md's recipe, followed on 127.0.0.1 with every piece a separate process.

A ``dask scheduler`` (its dashboard served: the dask extra brings bokeh), two ``dask worker``
processes under their nannies, PostgreSQL, and the S3 server; the recipe's check workflow
run from one process with the three settings of step 5, on both workers, with its results
on S3 and its history read back from another process.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.integration.conftest import S3_BUCKET, _free_port

pytestmark = [pytest.mark.dask, pytest.mark.postgres, pytest.mark.s3]

ROOT = Path(__file__).resolve().parents[2]

CHECK = '''
from datatailr import task, workflow

@task()
def where():
    import os, socket, time
    time.sleep(0.3)  # long enough that both workers get some
    return socket.gethostname(), os.getppid()

@workflow(name="cluster check")
def check():
    for i in range(8):
        where().alias(f"where_{i}")

run = check(local_run=True, progress=False)
print(run.state, len({run.result(f"where_{i}")[1] for i in range(8)}))
'''

READ_BACK = '''
from datatailr import Workflow

[row] = Workflow("cluster check").runs()
run = Workflow("cluster check").run(row["run_id"])
print(row["state"], sorted({run.result(f"where_{i}")[0] for i in range(8)}))
'''


def _wait_for(predicate, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if predicate():
                return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def recipe_cluster(tmp_path, s3_server):
    """Steps 3 and 4: one scheduler and two workers, each a process of its own."""
    port, dashboard = _free_port(), _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    logs = []
    processes: list[subprocess.Popen] = []

    def start(name: str, cmd: list[str]) -> None:
        log = open(tmp_path / f"{name}.log", "wb")
        logs.append(log)
        processes.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, env=env, cwd=tmp_path,
                                          start_new_session=True))

    try:
        start("scheduler", [sys.executable, "-m", "distributed.cli.dask_scheduler",
                            "--host", "127.0.0.1", "--port", str(port),
                            "--dashboard-address", f"127.0.0.1:{dashboard}"])
        for i in (1, 2):
            start(f"worker{i}", [sys.executable, "-m", "distributed.cli.dask_worker", address,
                                 "--nthreads", "2", "--host", "127.0.0.1",
                                 "--no-dashboard", "--name", f"w{i}"])
        from distributed import Client

        def two_workers() -> bool:
            with Client(address, timeout="2s", set_as_default=False) as client:
                return len(client.scheduler_info(n_workers=-1)["workers"]) == 2

        _wait_for(two_workers, "the scheduler and two workers")
        yield address, dashboard
    finally:
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        for log in logs:
            log.close()
        from datatailr.engine import dask_executor

        for key, client in list(dask_executor._CLIENTS.items()):
            if key[1] == address:
                with contextlib.suppress(Exception):
                    client.close()
                del dask_executor._CLIENTS[key]


def test_the_recipe_on_one_machine(home, recipe_cluster, postgres_database, s3_url,
                                   run_python):
    address, dashboard = recipe_cluster
    # The dashboard is there (bokeh installed with the dask extra).
    with urllib.request.urlopen(f"http://127.0.0.1:{dashboard}/status", timeout=10) as page:
        assert (page.status, b"bokeh" in page.read().lower()) == (200, True)
    # Step 5: everyone points at the scheduler, the database and the bucket.
    settings = {"DATATAILR_EXECUTOR": "dask://" + address.split("://")[1],
                "DATATAILR_DB_URL": postgres_database,
                "DATATAILR_STORAGE_URL": s3_url}
    saved = {k: os.environ.get(k) for k in settings}
    os.environ.update(settings)
    try:
        # Both workers ran tasks (two parents: two Dask worker processes).
        assert run_python(CHECK).stdout.split() == ["completed", "2"]
        # Another process, another home: the history and the results are shared.
        other_home = home.parent / "another-home"
        done = subprocess.run([sys.executable, "-c", READ_BACK], capture_output=True,
                              text=True, timeout=120, cwd=home.parent,
                              env={**os.environ, "DATATAILR_HOME": str(other_home),
                                   "PYTHONPATH": str(ROOT)})
        assert done.returncode == 0, done.stderr
        import socket

        assert done.stdout.split("\n")[0] == f"completed ['{socket.gethostname()}']"
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    import s3fs

    stored = s3fs.S3FileSystem().find(f"{S3_BUCKET}/{s3_url.split('/')[-1]}/results")
    assert len([p for p in stored if p.endswith(".pkl")]) == 8


DEPLOYS = '''
import socket
from datatailr import task, workflow

@task()
def where():
    import time
    time.sleep(0.2)
    return socket.gethostname()

@workflow(name="team check")
def check():
    for i in range(4):
        where().alias(f"where_{i}")

for _ in range(6):
    check()
'''


def test_two_agents_share_the_teams_deploys_on_the_cluster(tmp_path, recipe_cluster,
                                                          postgres_database, s3_url,
                                                          monkeypatch):
    """Step 5's agents: two of them (two homes, as on two machines) serve one queue; six
    deploys from a third home each run once, on the cluster's workers, results on S3."""
    address, _dashboard = recipe_cluster
    settings = {"DATATAILR_EXECUTOR": "dask://" + address.split("://")[1],
                "DATATAILR_DB_URL": postgres_database, "DATATAILR_STORAGE_URL": s3_url}
    base = {k: v for k, v in os.environ.items() if not k.startswith("DATATAILR_")}
    base.update(settings, PYTHONPATH=str(ROOT))
    agents = [subprocess.Popen([sys.executable, "-m", "datatailr.scheduler.agent"],
                               stdout=open(tmp_path / f"agent-{i}.log", "wb"),
                               stderr=subprocess.STDOUT, start_new_session=True,
                               env={**base, "DATATAILR_HOME": str(tmp_path / f"machine-{i}")})
              for i in (1, 2)]
    for key, value in settings.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("DATATAILR_HOME", str(tmp_path / "laptop"))
    try:
        from datatailr import Workflow
        from datatailr.scheduler import agent as agent_mod
        from datatailr.scheduler.platform import current_platform

        _wait_for(lambda: len(agent_mod.live_agents()) == 2, "both agents registered", 60)
        script = tmp_path / "deploys.py"
        script.write_text(DEPLOYS)
        done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                              timeout=300, cwd=tmp_path,
                              env={**base, "DATATAILR_HOME": str(tmp_path / "laptop")})
        assert done.returncode == 0, done.stderr
        assert agent_mod.running_queues() == []  # the deploys started no agent of their own
        wf = Workflow("team check")
        _wait_for(lambda: [r["state"] for r in wf.runs(refresh=True)] == ["completed"] * 6,
                  "six completed runs", 240)
        meta = current_platform().metadata
        owners = [meta.get_run(r["run_id"])["claimed_by"] for r in wf.runs()]
        pids = {f"{a['host']}:{a['pid']}" for a in agent_mod.live_agents()}
        assert len(owners) == 6 and set(owners) <= pids
        workers = {t["worker"] for r in wf.runs()
                   for t in wf.run_details(r["run_id"])["tasks"]}
        assert len(workers) >= 1 and all(w and w.startswith("tcp://127.0.0.1:") for w in workers)
        import socket

        assert {wf.result(r["run_id"], f"where_{i}") for r in wf.runs() for i in range(4)} == {
            socket.gethostname()}
    finally:
        for agent in agents:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(agent.pid, signal.SIGTERM)
        for agent in agents:
            agent.wait(30)
