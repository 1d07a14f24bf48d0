"""The controller with the real local executor: parallelism, failures, crashes, timeouts."""

from __future__ import annotations

import os
import time

import pytest

from datatailr.core.dag import task, trace
from datatailr.core.events import RunFinished, RunStarted, TaskFinished, TaskStarted
from datatailr.engine.controller import RunPlan, execute_run
from datatailr.engine.local import LocalExecutor
from datatailr.store.blobs import BlobStore


class Collect:
    def __init__(self):
        self.events = []

    def handle(self, events):
        self.events.extend(events)

    def tick(self):
        pass

    def close(self):
        pass


@task()
def nap(seconds):
    time.sleep(seconds)
    return os.getpid()


@task()
def collect(*pids):
    return sorted(pids)


def run(dag, tmp_path, **plan):
    io = BlobStore(str(tmp_path / "blobs"))
    events = Collect()
    state = execute_run(dag, RunPlan(run_id=1, system={}, **plan),
                        LocalExecutor(dag.nodes, io, max_workers=16), [events])
    return state, events.events, io


def test_independent_tasks_overlap_in_time_even_beyond_the_core_count(tmp_path):
    dag = trace(lambda: collect(*[nap(1.0).alias(f"nap_{i}") for i in range(6)]))
    state, events, io = run(dag, tmp_path)
    assert state == "completed"
    starts = {e.task_id: e.time for e in events if isinstance(e, TaskStarted)}
    ends = {e.task_id: e.time for e in events if isinstance(e, TaskFinished)}
    # Every nap started before any nap ended: they ran side by side, not 2 at a time.
    assert max(starts[i] for i in range(6)) < min(ends[i] for i in range(6))
    assert len(set(io.load_result(1, 6))) == 6  # six distinct worker processes


def test_event_sequence_of_a_two_task_run(tmp_path):
    dag = trace(lambda: collect(nap(0)))
    state, events, _ = run(dag, tmp_path)
    kinds = [(type(e).__name__, getattr(e, "task_id", None), getattr(e, "state", None))
             for e in events]
    assert kinds == [("RunStarted", None, None), ("TaskStarted", 0, None),
                     ("TaskFinished", 0, "completed"), ("TaskStarted", 1, None),
                     ("TaskFinished", 1, "completed"), ("RunFinished", None, "completed")]
    assert isinstance(events[0], RunStarted) and isinstance(events[-1], RunFinished)


def test_stop_request_stops_running_tasks(tmp_path):
    dag = trace(lambda: collect(nap(30)))
    t0 = time.time()
    state, events, _ = run(dag, tmp_path, should_stop=lambda: time.time() - t0 > 0.3)
    finished = {e.task_id: e.state for e in events if isinstance(e, TaskFinished)}
    assert (state, finished) == ("stopped", {0: "stopped", 1: "did_not_run"})


def test_fail_after_marks_the_run(tmp_path):
    dag = trace(lambda: nap(30))
    state, events, _ = run(dag, tmp_path, fail_after=0.3)
    assert state == "failed_after"
    assert events[-1].error == "The run exceeded fail_after=0.3 s and was stopped."


@pytest.mark.parametrize("max_workers", [1, 3])
def test_a_bounded_pool_still_runs_everything(tmp_path, max_workers):
    dag = trace(lambda: collect(*[nap(0).alias(f"n{i}") for i in range(7)]))
    io = BlobStore(str(tmp_path / "blobs"))
    state = execute_run(dag, RunPlan(run_id=1, system={}),
                        LocalExecutor(dag.nodes, io, max_workers=max_workers), [])
    assert state == "completed"
    assert len(set(io.load_result(1, 7))) <= max_workers


@task()
def allocate(mb):
    data = b"x" * (mb * 2**20)
    time.sleep(0.2)
    return len(data)


def test_the_workflows_memory_limit_applies_to_tasks_without_their_own(tmp_path):
    def body():
        allocate(100)
        allocate(100).alias("own").set_resources(memory="500m")

    state, events, io = run(trace(body), tmp_path, memory_limit=40 * 2**20)
    finished = {e.task_id: e for e in events if isinstance(e, TaskFinished)}
    assert state == "failed"
    assert finished[0].state == "failed"
    assert finished[0].error.startswith("MemoryError: the task exceeded memory=40m (peak ")
    assert finished[0].peak_rss > 40 * 2**20
    assert (finished[1].state, finished[1].error, io.load_result(1, 1)) == (
        "completed", None, 100 * 2**20)


def test_events_carry_the_host_and_what_each_attempt_used(tmp_path):
    import socket

    state, events, _ = run(trace(lambda: collect(nap(0))), tmp_path)
    assert state == "completed"
    assert [e.host for e in events if isinstance(e, TaskStarted)] == [socket.gethostname()] * 2
    done = [e for e in events if isinstance(e, TaskFinished)]
    assert all(isinstance(e.peak_rss, int) and isinstance(e.cpu_seconds, float) for e in done)


def test_a_timed_out_attempt_records_what_it_used(tmp_path):
    @task(timeout=0.3)
    def spin():
        while True:
            pass

    state, events, _ = run(trace(lambda: spin()), tmp_path)
    [done] = [e for e in events if isinstance(e, TaskFinished)]
    assert (state, done.state) == ("failed", "failed")
    assert done.cpu_seconds > 0 and isinstance(done.peak_rss, int)


@task()
def small_value():
    return {"rows": 3}


@task()
def big_value():
    return "x" * 100_000


@task()
def sizes(small, big, *earlier):
    return (small, len(big), *earlier)


def test_small_results_travel_inline_with_their_events_and_large_ones_are_files(tmp_path):
    import pickle

    dag = trace(lambda: sizes(small_value(), big_value()))
    state, events, io = run(dag, tmp_path, inline_max=4096)
    done = {e.task_id: e for e in events if isinstance(e, TaskFinished)}
    assert (state, pickle.loads(done[0].result), done[1].result,
            pickle.loads(done[2].result)) == ("completed", {"rows": 3}, None, ({"rows": 3}, 100_000))
    # only the large result is in storage; the consumer got the small one with its call
    assert sorted(os.listdir(tmp_path / "blobs" / "results" / "1")) == ["1.pkl"]


def test_a_reused_small_result_reaches_its_consumer_from_the_plan(tmp_path):
    import pickle

    dag = trace(lambda: sizes(small_value(), big_value(), "kept"))
    state, events, io = run(dag, tmp_path, inline_max=4096,
                            reuse={0: (7, 0)}, reused_inline={0: pickle.dumps("from run 7")})
    done = {e.task_id: e for e in events if isinstance(e, TaskFinished)}
    assert (state, done[0].reused_from, pickle.loads(done[2].result)) == (
        "completed", (7, 0), ("from run 7", 100_000, "kept"))


def test_without_inline_results_every_result_is_a_file(tmp_path):
    dag = trace(lambda: sizes(small_value(), big_value()))
    state, events, io = run(dag, tmp_path)
    assert (state, [e.result for e in events if isinstance(e, TaskFinished)]) == (
        "completed", [None, None, None])
    assert (io.load_result(1, 0), io.load_result(1, 2)) == ({"rows": 3}, ({"rows": 3}, 100_000))
