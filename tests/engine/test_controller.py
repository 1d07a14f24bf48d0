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
    dag = trace(lambda: collect(*[nap(0.4).alias(f"nap_{i}") for i in range(6)]))
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
