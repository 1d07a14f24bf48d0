"""Losing a Dask worker mid-run costs only what ran there.

On a LocalCluster of two worker processes (each under a nanny, which starts a new one after
the kill), one worker is SIGKILLed while it runs a task and has others queued. The task it
ran fails (or, with ``retries``, runs again: an explicit retry); the tasks only queued there
run elsewhere and never fail for it; the task's own process dies with its worker, so it
never finishes behind its run's back (no result stored, no second execution).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from datatailr import task, workflow
from datatailr.engine import dask_executor
from datatailr.scheduler.platform import current_platform

pytestmark = pytest.mark.dask

N_TASKS = 10


@pytest.fixture(scope="module")
def losable_cluster():
    """Its own cluster: the session's must not lose workers under other tests."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address="127.0.0.1:0",
                                       scheduler_kwargs={"dashboard": False},
                                       silence_logs=logging.CRITICAL)
    try:
        yield cluster
    finally:
        for key, client in list(dask_executor._CLIENTS.items()):
            if key[1] == cluster.scheduler_address:
                with contextlib.suppress(Exception):
                    client.close()
                del dask_executor._CLIENTS[key]
        cluster.close()


def journaled_step(i, journal):
    # One line when the task's code begins, one when it ends: how often it really ran.
    with open(journal, "a") as f:
        f.write(f"begin {i} {os.getppid()}\n")
    time.sleep(0.8 if i == 0 else 0.3)
    with open(journal, "a") as f:
        f.write(f"end {i}\n")
    return i


step = task()(journaled_step)


def _lines(journal: Path) -> list[list[str]]:
    return [line.split() for line in journal.read_text().splitlines()] if journal.exists() \
        else []


@pytest.mark.parametrize("retries", [0, 1], ids=["no-retries", "retries-1"])
def test_sigkill_of_a_worker_mid_run_costs_only_its_running_task(home, monkeypatch, tmp_path,
                                                                   losable_cluster, retries):
    monkeypatch.setenv("DATATAILR_EXECUTOR",
                       "dask://" + losable_cluster.scheduler_address.split("://")[1])
    monkeypatch.setenv("DATATAILR_STORAGE_URL", f"local://{tmp_path / 'storage'}")
    journal = tmp_path / "journal"
    victim_task = task(retries=retries)(journaled_step)

    @workflow(name=f"loses a worker {retries}")
    def flow():
        victim_task(0, str(journal)).alias("victim")
        for i in range(1, N_TASKS):
            step(i, str(journal)).alias(f"step_{i}")

    runs = []
    thread = threading.Thread(target=lambda: runs.append(flow(local_run=True, progress=False)))
    thread.start()
    # Wait until the victim runs, then kill the Dask worker process running it (the parent of
    # the task's process), while tasks are still queued on it.
    deadline = time.monotonic() + 30
    worker_pid = None
    while worker_pid is None and time.monotonic() < deadline:
        worker_pid = next((int(p[2]) for p in _lines(journal) if p[:2] == ["begin", "0"]), None)
        time.sleep(0.02)
    assert worker_pid is not None, _lines(journal)
    os.kill(worker_pid, signal.SIGKILL)
    thread.join(60)
    assert not thread.is_alive()
    [run] = runs
    details = run.run_details()
    tasks = {t["name"]: t for t in details["tasks"]}
    others = [tasks[f"step_{i}"] for i in range(1, N_TASKS)]
    assert [(t["state"], t["attempts"]) for t in others] == [("completed", 1)] * (N_TASKS - 1), \
        [t["error"] for t in others]
    assert [run.result(f"step_{i}") for i in range(1, N_TASKS)] == list(range(1, N_TASKS))
    lines = _lines(journal)
    begins = sorted(int(p[1]) for p in lines if p[0] == "begin")
    ends = sorted(int(p[1]) for p in lines if p[0] == "end")
    victim = tasks["victim"]
    if retries == 0:
        assert (run.state, victim["state"], victim["attempts"]) == ("failed", "failed", 1)
        assert victim["error"].startswith(
            "Task crashed: the Dask worker running it died (KilledWorker:")
        stored = current_platform().blobs
        assert stored.url == f"local://{tmp_path / 'storage'}"
        assert not stored.has_result(details["run_id"], victim["id"])
        # The victim began once and never ended: its process died with its worker.
        assert (begins, ends) == (list(range(N_TASKS)), list(range(1, N_TASKS)))
    else:
        assert (run.state, victim["state"], victim["attempts"]) == ("completed", "completed", 2)
        assert run.result("victim") == 0
        # Twice for the victim (its explicit retry), once for every other task.
        assert (begins, ends) == ([0, *range(N_TASKS)], list(range(N_TASKS)))
    time.sleep(0.5)  # nothing of the killed worker goes on running afterwards
    assert _lines(journal) == lines


def produce(journal):
    with open(journal, "a") as f:
        f.write(f"begin produce {os.getppid()}\n")
    return 41


def wait_for_go(go, journal):
    with open(journal, "a") as f:
        f.write(f"begin wait {os.getppid()}\n")
    while not os.path.exists(go):
        time.sleep(0.05)
    return "go"


def consume(value, _gate):
    return value + 1


def test_a_value_lost_with_its_worker_is_read_back_from_storage_not_recomputed(
        home, monkeypatch, tmp_path, losable_cluster):
    monkeypatch.setenv("DATATAILR_EXECUTOR",
                       "dask://" + losable_cluster.scheduler_address.split("://")[1])
    monkeypatch.setenv("DATATAILR_STORAGE_URL", f"local://{tmp_path / 'storage'}")
    journal, go = tmp_path / "journal", tmp_path / "go"
    t_produce, t_wait = task()(produce), task(retries=2)(wait_for_go)
    t_consume = task()(consume)

    @workflow(name="loses a value")
    def flow():
        value = t_produce(str(journal))
        t_consume(value, t_wait(str(go), str(journal)))

    runs = []
    thread = threading.Thread(target=lambda: runs.append(flow(local_run=True, progress=False)))
    thread.start()
    deadline = time.monotonic() + 120  # a loaded machine starts the run slowly
    lines: list[list[str]] = []
    # produce and wait_for_go are independent: wait until both have begun, in either order
    while time.monotonic() < deadline and not (
            any(p[:2] == ["begin", "wait"] for p in lines)
            and any(p[:2] == ["begin", "produce"] for p in lines)):
        lines = _lines(journal)
        time.sleep(0.02)
    [producer_worker] = [int(p[2]) for p in lines if p[:2] == ["begin", "produce"]]
    os.kill(producer_worker, signal.SIGKILL)  # the value 41 was only in its memory
    time.sleep(0.5)
    go.touch()
    thread.join(60)
    assert not thread.is_alive()
    [run] = runs
    assert (run.state, run.result("consume")) == ("completed", 42), run.run_details()["error"]
    produced = [p for p in _lines(journal) if p[:2] == ["begin", "produce"]]
    assert len(produced) == 1  # never run again: its stored result stood in for it
