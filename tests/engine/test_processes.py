"""Process trees, measured in real forked processes: usage, descendants, the memory check."""

from __future__ import annotations

import os
import pickle
import subprocess
import time

from datatailr.core.dag import task, trace
from datatailr.engine import processes
from datatailr.engine.worker import TaskCall, fork_child, prepare_forked_worker, run_task
from datatailr.store.blobs import BlobStore


def in_child(body):
    """Run ``body()`` in a forked task root (as a worker is); return what it returned."""
    def serve(conn):
        conn.send(body())

    pid, conn = fork_child(serve)
    try:
        return conn.recv()
    finally:
        os.waitpid(pid, 0)


def test_usage_counts_what_an_attempt_added_not_what_the_worker_held():
    def body():
        kept = b"y" * (80 * 2**20)  # held before the attempt: not the attempt's
        usage = processes.Usage()
        data = b"x" * (50 * 2**20)
        end = time.process_time() + 0.2
        while time.process_time() < end:
            pass
        del data
        return usage.peak(), usage.cpu(), len(kept)

    peak, cpu, _ = in_child(body)
    assert 50 * 2**20 <= peak < 70 * 2**20
    assert 0.2 <= cpu < 5


def test_a_child_process_bigger_than_the_worker_sets_the_peak():
    def body():
        usage = processes.Usage()
        subprocess.run(["python3", "-c", "x = b'x' * (70 * 2**20)"], check=True)
        return usage.peak()

    # The upper bound is loose: the child's interpreter and the machine's load add to it.
    assert 70 * 2**20 <= in_child(body) < 400 * 2**20


def test_descendants_and_their_memory_and_the_sweep_after_a_task():
    def body():
        sleeper = subprocess.Popen(["sleep", "3600"])
        inner = subprocess.Popen(["sh", "-c", "sleep 3600 & wait"])
        deadline = time.monotonic() + 10
        while len(processes.descendants("self")) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        found = sorted(processes.descendants(os.getpid()))
        total = processes.tree_rss(os.getpid())
        processes.end_descendants()
        return (found, sleeper.pid, inner.pid, total, processes.rss(os.getpid()),
                processes.descendants("self"))

    found, sleeper, inner, total, own, after = in_child(body)
    assert len(found) == 3 and {sleeper, inner} < set(found)
    assert total > own > 0
    assert after == []


def test_the_sweep_costs_nothing_when_a_task_started_no_process():
    def body():
        processes.end_descendants()
        return processes.descendants("self")

    assert in_child(body) == []


def test_sizes_and_the_memory_error_read_as_written():
    assert [processes.format_size(n) for n in (150 * 2**20, 2**30, 1536 * 2**20, 1000)] == [
        "150m", "1g", "1536m", "1000"]
    assert processes.memory_error(150 * 2**20, 212 * 2**20) == (
        "MemoryError: the task exceeded memory=150m (peak 212 MB)")


@task()
def allocate(mb):
    return len(b"x" * (mb * 2**20))


def test_a_task_over_its_limit_that_returns_fails_in_its_worker_and_stores_nothing(tmp_path):
    # No watchdog here: the worker's own exact peak decides.
    io = BlobStore(str(tmp_path / "blobs"))
    dag = trace(lambda: [allocate(100), allocate(5).alias("small")])

    def body():
        prepare_forked_worker()  # as a worker does: sys.stderr writes to fd 2, the log
        over = run_task(dag.nodes[0], TaskCall(1, 0, 1, {}, {}, {}, 40 * 2**20), io)
        under = run_task(dag.nodes[1], TaskCall(1, 1, 1, {}, {}, {}, 40 * 2**20), io)
        return pickle.dumps((over, under))

    over, under = pickle.loads(in_child(body))
    peak_mb = round(over.peak_rss / 2**20)
    assert (over.ok, over.error) == (
        False, f"MemoryError: the task exceeded memory=40m (peak {peak_mb} MB)")
    assert peak_mb >= 100
    assert io.has_result(1, 0) is False
    assert (under.ok, under.error, io.load_result(1, 1)) == (True, None, 5 * 2**20)
    assert "datatailr: MemoryError: the task exceeded memory=40m" in io.read_log(1, 0, "stderr")
