"""The local executor and the worker processes it forks, driven directly (real processes)."""

from __future__ import annotations

import os
import time

from datatailr.core.dag import task, trace
from datatailr.engine.local import LocalExecutor
from datatailr.engine.worker import TaskCall, fork_child
from datatailr.store.blobs import BlobStore


def messages_until(executor, kinds, seconds=60.0):
    out = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not any(m[0] in kinds for m in out):
        out.extend(executor.wait(0.5))
    return out


def test_a_child_that_fails_before_any_task_says_why_on_stderr_and_to_its_parent(capfd):
    def body(conn):
        raise RuntimeError("this library is not fork-safe")

    pid, conn = fork_child(body, report_fatal=True)
    kind, text = conn.recv()
    _, status = os.waitpid(pid, 0)
    assert (kind, os.WEXITSTATUS(status)) == ("fatal", 1)
    assert text.startswith(f"datatailr worker {pid} failed:\nTraceback (most recent call last):")
    assert text.endswith("RuntimeError: this library is not fork-safe\n")
    assert text in capfd.readouterr().err


@task()
def pid_of_worker():
    return os.getpid()


def test_a_worker_that_dies_of_its_own_error_reports_its_last_line(tmp_path, capfd):
    dag = trace(lambda: pid_of_worker())
    executor = LocalExecutor(dag.nodes, BlobStore(str(tmp_path / "blobs")), max_workers=2)
    try:
        # A call for a task the worker does not have: the worker's own code fails, not a task.
        executor.submit(TaskCall(1, 5, 1, {}, {}, {}))
        [died] = [m for m in messages_until(executor, {"died"}) if m[0] == "died"]
    finally:
        executor.shutdown()
    kind, task_id, why, _peak, _cpu = died
    assert (kind, task_id) == ("died", 5)
    assert why.startswith("the worker process running it exited with code 1 (pid ")
    assert why.endswith("): IndexError: tuple index out of range")
    assert "Traceback (most recent call last):" in capfd.readouterr().err


def test_messages_of_one_task_carry_the_host_and_what_it_used(tmp_path):
    import socket

    dag = trace(lambda: pid_of_worker())
    executor = LocalExecutor(dag.nodes, BlobStore(str(tmp_path / "blobs")), max_workers=2)
    try:
        executor.submit(TaskCall(1, 0, 1, {}, {}, {}))
        messages = messages_until(executor, {"done"})
    finally:
        executor.shutdown()
    started, done = messages
    assert started[0] == "started" and started[1] == 0 and started[4] == socket.gethostname()
    assert len(started) == 5
    outcome = done[1]
    assert (done[0], outcome.ok, outcome.error) == ("done", True, None)
    assert isinstance(outcome.peak_rss, int) and outcome.peak_rss >= 0
    assert isinstance(outcome.cpu_seconds, float) and outcome.cpu_seconds >= 0


@task()
def fork_then_crash():
    if os.fork() == 0:  # holds the worker's pipe open while it sleeps
        time.sleep(3600)
        os._exit(0)
    os._exit(4)


def test_without_pidfds_a_worker_whose_child_holds_its_pipe_is_still_seen_to_die(
        tmp_path, monkeypatch):
    import datatailr.engine.local as local

    monkeypatch.setattr(local, "pidfd", lambda pid: None)  # as on kernels before 5.3
    dag = trace(lambda: fork_then_crash())
    executor = LocalExecutor(dag.nodes, BlobStore(str(tmp_path / "blobs")), max_workers=2)
    try:
        executor.submit(TaskCall(1, 0, 1, {}, {}, {}))
        died = [m for m in messages_until(executor, {"died"}) if m[0] == "died"]
    finally:
        executor.shutdown()
    [(kind, task_id, why, _peak, cpu)] = died
    assert (kind, task_id) == ("died", 0)
    assert why.startswith("the worker process running it exited with code 4 (pid ")
    assert isinstance(cpu, float)


@task()
def spin(seconds):
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass
    return os.getpid()


@task()
def nap(seconds):
    time.sleep(seconds)
    return os.getpid()


def _run_all(tmp_path, body, count, cores=2):
    dag = trace(body)
    executor = LocalExecutor(dag.nodes, BlobStore(str(tmp_path / "blobs")), max_workers=32)
    executor.cores = cores
    try:
        began = time.monotonic()
        for task_id in range(count):
            executor.submit(TaskCall(1, task_id, 1, {}, {}, {}))
        done = []
        while len(done) < count and time.monotonic() - began < 120:
            done.extend(m for m in executor.wait(0.5) if m[0] == "done")
        return len(executor.workers), time.monotonic() - began, done
    finally:
        executor.shutdown()


def test_tasks_busy_on_the_cpu_never_get_more_workers_than_cores(tmp_path):
    def body():
        for i in range(6):
            spin(0.3).alias(f"spin_{i}")

    workers, _seconds, done = _run_all(tmp_path, body, 6)
    assert (workers, len(done), all(m[1].ok for m in done)) == (2, 6, True)


def test_sleeping_tasks_each_get_a_worker_and_overlap(tmp_path):
    def body():
        for i in range(8):
            nap(0.5).alias(f"nap_{i}")

    workers, _seconds, done = _run_all(tmp_path, body, 8)
    assert (workers, len(done)) == (8, 8)  # one each: all eight slept at once
