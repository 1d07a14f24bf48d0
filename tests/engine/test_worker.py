"""One task call in a worker (``run_task``), driven in this process."""

from __future__ import annotations

import os
import pickle

from datatailr.core.dag import task, trace
from datatailr.engine.worker import TaskCall, run_task
from datatailr.store.blobs import BlobStore


@task()
def seen(*_inputs):
    return {k: os.environ.get(k) for k in ("DT_TEST_ONLY_FIRST", "DT_TEST_OVERRIDDEN")}


def test_each_call_sees_exactly_its_environment_on_top_of_the_workers(tmp_path, monkeypatch):
    monkeypatch.setenv("DT_TEST_OVERRIDDEN", "the worker's")
    monkeypatch.delenv("DT_TEST_ONLY_FIRST", raising=False)
    dag = trace(lambda: seen())
    io_ = BlobStore(str(tmp_path))
    calls = [{"DT_TEST_ONLY_FIRST": "1", "DT_TEST_OVERRIDDEN": "the task's"},
             {"DT_TEST_ONLY_FIRST": "2"}, {}]
    got = []
    for i, env in enumerate(calls):
        outcome = run_task(dag.nodes[0], TaskCall(1, 0, i + 1, {}, {}, env, inline_max=4096), io_)
        got.append(pickle.loads(outcome.result))
    assert got == [{"DT_TEST_ONLY_FIRST": "1", "DT_TEST_OVERRIDDEN": "the task's"},
                   {"DT_TEST_ONLY_FIRST": "2", "DT_TEST_OVERRIDDEN": "the worker's"},
                   {"DT_TEST_ONLY_FIRST": None, "DT_TEST_OVERRIDDEN": "the worker's"}]
    assert (os.environ.get("DT_TEST_ONLY_FIRST"), os.environ["DT_TEST_OVERRIDDEN"]) == (
        None, "the worker's")


@task()
def echo(*inputs):
    return inputs


def test_inputs_come_from_the_call_when_small_and_from_storage_otherwise(tmp_path):
    dag = trace(lambda: echo(seen(), seen()))
    io_ = BlobStore(str(tmp_path))
    io_.save_result(1, 1, "stored")
    outcome = run_task(dag.nodes[2], TaskCall(1, 2, 1, {0: (1, 0), 1: (1, 1)}, {}, {},
                                              inline={0: pickle.dumps("inline")},
                                              inline_max=4096), io_)
    assert (outcome.error, pickle.loads(outcome.result), os.listdir(tmp_path / "results" / "1")
            ) == (None, ("inline", "stored"), ["1.pkl"])
