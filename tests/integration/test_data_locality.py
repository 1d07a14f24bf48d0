"""On Dask a result stays in the memory of the worker that made it for its consumers.

Proved by taking the storage away: once the producers are done, a task deletes their stored
results; their consumers still get the values (from Dask's memory, moved worker to worker by
Dask). A consumer that changes its input in place changes its own copy only, as with inputs
read from storage, for a large array (seen by the task's process without a copy) and for a
small value (sent down a pipe). Every completed task's result is stored.
"""

from __future__ import annotations

import glob
import os

import pytest

from datatailr import task, workflow
from datatailr.scheduler.platform import current_platform

pytestmark = pytest.mark.dask

SIZE = 4 * 2**20 // 8  # a 4 MiB array: above the size that is sent down a pipe


@task()
def make_array():
    import numpy as np

    return np.ones(SIZE)


@task()
def make_small():
    return {"items": [1, 2, 3]}


@task()
def forget_stored(storage, *made):
    removed = []
    for path in glob.glob(os.path.join(storage, "results", "**", "*.pkl"), recursive=True):
        os.unlink(path)
        removed.append(os.path.basename(path))
    return sorted(removed)


@task()
def doubles_in_place(array, small, _after):
    array *= 2
    small["items"].append(4)
    return float(array.sum()), small["items"]


@task()
def reads(array, small, _after):
    return float(array.sum()), small["items"]


@workflow(name="data stays")
def data_stays(storage):
    array, small = make_array(), make_small()
    removed = forget_stored(storage, array, small)
    changed = doubles_in_place(array, small, removed)
    for i in range(4):
        reads(array, small, changed).alias(f"reads_{i}")


def test_consumers_get_values_from_dask_memory_and_change_only_their_copy(
        home, configure, monkeypatch, tmp_path):
    configure("dask")
    storage = tmp_path / "storage"
    monkeypatch.setenv("DATATAILR_STORAGE_URL", f"local://{storage}")
    run = data_stays(str(storage), local_run=True, progress=False)
    details = run.run_details()
    assert (run.state, [t["state"] for t in details["tasks"]]) == (
        "completed", ["completed"] * 8)
    assert run.result("forget_stored") == ["0.pkl", "1.pkl"]
    assert run.result("doubles_in_place") == (2.0 * SIZE, [1, 2, 3, 4])
    assert [run.result(f"reads_{i}") for i in range(4)] == [(float(SIZE), [1, 2, 3])] * 4
    blobs = current_platform().blobs
    assert [blobs.has_result(details["run_id"], t["id"]) for t in details["tasks"]] == [
        False, False, True, True, True, True, True, True]
