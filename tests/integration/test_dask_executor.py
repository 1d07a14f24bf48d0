"""The Dask executor on a real LocalCluster: what the shared suite cannot show.

Messages as they happen (started while the task runs), cancellation killing the task's
process, a client that goes away, a worker that cannot see the storage or load the code,
an unreachable scheduler, resources declared by workers, and a Dask worker that dies.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import time
import types

import pytest

from datatailr import Resources, task, workflow
from datatailr.engine import dask_executor
from datatailr.engine.dask_executor import (
    DaskExecutor,
    ExecutorError,
    dask_resources,
    scheduler_address,
    shipped_environment,
)
from datatailr.engine.worker import TaskCall
from datatailr.errors import InvalidArgumentError
from datatailr.store.blobs import BlobStore

# -- pure helpers ---------------------------------------------------------------------------


def test_scheduler_address_forms():
    assert [scheduler_address(s) for s in (
        "dask://10.0.0.5:8786", "dask+tls://sched:8786/", "tcp://127.0.0.1:1", "tls://h:2")] == [
        "tcp://10.0.0.5:8786", "tls://sched:8786", "tcp://127.0.0.1:1", "tls://h:2"]
    with pytest.raises(InvalidArgumentError, match=r"write dask://host:port"):
        scheduler_address("dask://")


def test_resources_are_asked_for_only_under_names_the_workers_declare():
    r = Resources(memory="1g", cpu=2, vram="2g")
    assert dask_resources(r, {"w1": {}, "w2": {}}) == {}
    assert dask_resources(None, {"w1": {"CPU": 4}}) == {}
    assert dask_resources(r, {"w1": {"CPU": 4}, "w2": {"MEMORY": 8e9}}) == {
        "CPU": 2.0, "MEMORY": float(2**30)}
    assert dask_resources(r, {"w1": {"cpu": 4, "VRAM": 1e10}}) == {
        "cpu": 2.0, "VRAM": float(2 * 2**30)}


def test_only_platform_settings_of_the_callers_environment_reach_the_cluster():
    assert shipped_environment({
        "PATH": "/bin", "HOME": "/root", "LC_ALL": "C", "DASK_X": "1", "MY_SETTING": "on",
        "PGPASSWORD": "pg-secret", "AWS_SECRET_ACCESS_KEY": "s3-secret",
        "DATATAILR_DB_URL": "postgresql://u:pw@db/datatailr",
        "DATATAILR_STORAGE_URL": "s3://bucket/dt",
        "DATATAILR_BATCH_ARG_RUNDATE": "2026-04-09", "AWS_PROFILE": "team"}) == {
        "DATATAILR_STORAGE_URL": "s3://bucket/dt", "DATATAILR_BATCH_ARG_RUNDATE": "2026-04-09"}


# -- the executor on the session's cluster ----------------------------------------------------

@task()
def sleeper(seconds):
    time.sleep(seconds)
    return seconds


@task()
def shout(word):
    for _ in range(50):
        print(word, flush=True)
    return word


def _executor(cluster, tmp_path, body, client=None):
    dag = workflow(name="executor test")(body).trace()
    blobs = BlobStore(str(tmp_path / "storage"))
    address = cluster.scheduler_address
    ex = DaskExecutor(address if client else "dask://" + address.split("://")[1], dag.nodes,
                      blobs, client=client)
    return ex, blobs


def _call(task_id, attempt=1):
    return TaskCall(run_id=1, task_id=task_id, attempt=attempt, inputs={}, system={}, env={})


def _collect(executor, until, timeout=60.0):
    messages = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        messages += executor.wait(0.2)
        if until(messages):
            return messages
    raise AssertionError(f"timed out; got {messages}")


def _dies(pid, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.dask
def test_started_comes_while_the_task_runs_and_done_after_with_the_result_stored(
        dask_cluster, tmp_path):
    ex, blobs = _executor(dask_cluster, tmp_path, lambda: sleeper(0.5))
    try:
        ex.submit(_call(0))
        [started] = _collect(ex, lambda m: len(m) >= 1)
        assert started[:2] == ("started", 0) and started[3] != os.getpid()
        [done] = _collect(ex, lambda m: len(m) >= 1)
        assert done[0] == "done"
        outcome = done[1]
        assert (outcome.task_id, outcome.ok, outcome.start_time, outcome.error) == (
            0, True, started[2], None)
        assert outcome.end_time - outcome.start_time >= 0.5
        assert blobs.load_result(1, 0) == 0.5
    finally:
        ex.shutdown()


@pytest.mark.dask
def test_started_names_the_host_and_the_dask_worker_that_ran_the_attempt(
        dask_cluster, tmp_path, monkeypatch):
    monkeypatch.setattr(dask_executor, "PROVENANCE_IN_STARTED", True)

    def body():
        sleeper(0.3).alias("long")  # its start is reported while it runs
        sleeper(0).alias("short")  # its start comes with its end

    ex, _ = _executor(dask_cluster, tmp_path, body)
    try:
        ex.submit(_call(0))
        ex.submit(_call(1))
        messages = _collect(ex, lambda m: sum(x[0] == "done" for x in m) == 2)
    finally:
        ex.shutdown()
    workers = set(dask_cluster.scheduler_info["workers"])
    started = sorted(m for m in messages if m[0] == "started")
    assert [(m[1], len(m), m[4]) for m in started] == [(0, 6, socket.gethostname()),
                                                       (1, 6, socket.gethostname())]
    assert {m[5] for m in started} <= workers and all(m[5] for m in started)


@pytest.mark.dask
def test_cancel_kills_the_process_running_the_task(dask_cluster, tmp_path):
    def body():
        sleeper(60)
        sleeper(0).alias("quick")

    ex, blobs = _executor(dask_cluster, tmp_path, body)
    try:
        ex.submit(_call(0))
        [(_, _, _, pid, *_where)] = _collect(ex, lambda m: len(m) >= 1)
        ex.cancel(0)
        assert _dies(pid)
        assert ex.wait(0.5) == []
        ex.submit(_call(1))  # the worker thread it held is free again
        messages = _collect(ex, lambda m: any(x[0] == "done" for x in m))
        assert [m[1].task_id for m in messages if m[0] == "done"] == [1]
    finally:
        ex.shutdown()


@pytest.mark.dask
def test_a_task_whose_client_went_away_is_killed(dask_cluster, tmp_path):
    from distributed import Client

    client = Client(dask_cluster.scheduler_address, set_as_default=False)
    ex, _ = _executor(dask_cluster, tmp_path, lambda: sleeper(60), client=client)
    ex.submit(_call(0))
    [(_, _, _, pid, *_where)] = _collect(ex, lambda m: len(m) >= 1)
    client.close()  # the run's process died, say
    assert _dies(pid)


@pytest.mark.dask
def test_independent_tasks_run_at_the_same_time_on_two_workers(home, configure):
    configure("dask")

    @workflow(name="two sleepers")
    def two():
        sleeper(1.0).alias("a")
        sleeper(1.0).alias("b")

    run = two(local_run=True, progress=False)
    a, b = run.run_details()["tasks"]
    assert (a["state"], b["state"]) == ("completed", "completed")
    assert a["start_time"] < b["end_time"] and b["start_time"] < a["end_time"]


@pytest.mark.dask
def test_a_worker_that_cannot_see_the_storage_fails_each_task_saying_so(home, configure,
                                                                        monkeypatch):
    configure("dask")
    url = f"memory://datatailr-{os.getpid()}-{time.monotonic_ns()}"
    monkeypatch.setenv("DATATAILR_STORAGE_URL", url)  # this process's memory only
    run = workflow(name="unseen storage")(lambda: sleeper(0))(local_run=True,
                                                                         progress=False)
    assert run.state == "failed"
    [t] = run.run_details()["tasks"]
    assert t["error"].startswith("StorageError: Dask worker tcp://127.0.0.1:")
    assert f"cannot see the result storage {url!r} that {socket.gethostname()} writes to" in \
        t["error"]
    assert "Set DATATAILR_STORAGE_URL to storage every worker shares" in t["error"]


@pytest.mark.dask
def test_code_a_worker_cannot_load_fails_its_tasks_with_the_reason_in_stderr(home, configure):
    configure("dask")
    # An importable module here that workers do not have (think: not installed there).
    module = types.ModuleType("phantom_tasks_mod")
    exec("def phantom():\n    return 1\n", module.__dict__)
    sys.modules["phantom_tasks_mod"] = module
    try:
        phantom = task()(module.phantom)
        run = workflow(name="phantom")(lambda: phantom())(local_run=True,
                                                                    progress=False)
    finally:
        del sys.modules["phantom_tasks_mod"]
    [t] = run.run_details()["tasks"]
    assert (run.state, t["state"]) == ("failed", "failed")
    assert t["error"].startswith(
        "ModuleNotFoundError: No module named 'phantom_tasks_mod' (while loading the "
        "workflow's code on Dask worker ")
    err = run.logs("phantom", stderr=True)
    assert err.startswith("Traceback (most recent call last):")
    assert err.rstrip().endswith("ModuleNotFoundError: No module named 'phantom_tasks_mod'")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_scheduler_is_a_clear_error_and_the_run_fails(home, monkeypatch):
    port = _free_port()
    monkeypatch.setattr(dask_executor, "CONNECT_TIMEOUT", "1s")
    monkeypatch.setenv("DATATAILR_EXECUTOR", f"dask://127.0.0.1:{port}")
    wf = workflow(name="no cluster")(lambda: sleeper(0))
    with pytest.raises(ExecutorError, match=rf"Cannot reach the Dask scheduler at "
                                            rf"tcp://127.0.0.1:{port} \("):
        wf(local_run=True, progress=False)
    from datatailr import Workflow

    [row] = Workflow("no cluster").runs()
    assert row["state"] == "failed"  # not left pending forever


# -- a cluster whose worker declares resources ---------------------------------------------

@pytest.fixture(scope="module")
def resource_cluster():
    """One worker process with two threads declaring CPU=1; a lost worker fails its task at
    once (allowed-failures 0, which the executor also sets), without Dask re-running it."""
    import logging

    import dask
    from distributed import LocalCluster

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = LocalCluster(n_workers=1, threads_per_worker=2, processes=True,
                               resources={"CPU": 1}, host="127.0.0.1",
                               dashboard_address="127.0.0.1:0",
                               scheduler_kwargs={"dashboard": False},
                               silence_logs=logging.ERROR)
    try:
        yield cluster
    finally:
        for key, client in list(dask_executor._CLIENTS.items()):
            if key[1] == cluster.scheduler_address:
                with contextlib.suppress(Exception):
                    client.close()
                del dask_executor._CLIENTS[key]
        cluster.close()


def _use(cluster, monkeypatch, tmp_path):
    monkeypatch.setenv("DATATAILR_EXECUTOR", "dask://" + cluster.scheduler_address.split("://")[1])
    monkeypatch.setenv("DATATAILR_STORAGE_URL", f"local://{tmp_path / 'storage'}")


@task(cpu=1)
def needs_a_cpu(seconds):
    time.sleep(seconds)
    return seconds


@task(cpu=2)
def needs_two_cpus():
    return "never"


@pytest.mark.dask
def test_declared_resources_limit_what_runs_together_and_threads_keep_logs_apart(
        home, monkeypatch, tmp_path, resource_cluster):
    _use(resource_cluster, monkeypatch, tmp_path)

    @workflow(name="resources")
    def resources():
        needs_a_cpu(0.6).alias("first")
        needs_a_cpu(0.6).alias("second")
        needs_two_cpus()

    run = resources(local_run=True, progress=False)
    tasks = {t["name"]: t for t in run.run_details()["tasks"]}
    first, second = tasks["first"], tasks["second"]
    assert (first["state"], second["state"]) == ("completed", "completed")
    # Two threads, but CPU=1: one after the other.
    assert first["end_time"] <= second["start_time"] or second["end_time"] <= first["start_time"]
    assert tasks["needs_two_cpus"]["state"] == "failed"
    assert tasks["needs_two_cpus"]["error"].startswith(
        "ResourceError: task 'needs_two_cpus' asks for {'CPU': 2.0} but no Dask worker "
        "declares that much (workers: tcp://127.0.0.1:")

    @workflow(name="two voices")
    def voices():
        shout("ping").alias("ping")
        shout("pong").alias("pong")

    run = voices(local_run=True, progress=False)
    assert run.logs("ping") == "ping\n" * 50  # two threads of one worker, logs not mixed
    assert run.logs("pong") == "pong\n" * 50


@task()
def kills_its_dask_worker():
    os.kill(os.getppid(), signal.SIGKILL)  # the parent of a task's process is the worker
    time.sleep(10)


@pytest.mark.dask
def test_a_dask_worker_dying_mid_task_fails_that_task(home, monkeypatch, tmp_path,
                                                       resource_cluster):
    _use(resource_cluster, monkeypatch, tmp_path)
    run = workflow(name="worker dies")(lambda: kills_its_dask_worker())(local_run=True,
                                                                         progress=False)
    [t] = run.run_details()["tasks"]
    assert (run.state, t["state"]) == ("failed", "failed")
    assert t["error"].startswith("Task crashed: the Dask worker running it died (KilledWorker:")
