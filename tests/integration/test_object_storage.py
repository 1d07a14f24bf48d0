"""Storage through fsspec (as an object store is used): what only a remote storage can lose.

Logs are spooled on the worker's machine and uploaded when a task ends; a task killed
mid-run (segfault, timeout) never ends normally, so its executor uploads what it wrote.
"""

from __future__ import annotations

import time

import pytest

from datatailr import task, workflow
from tests.integration.conftest import config_param


@task()
def prints_then_segfaults():
    print("before the crash", flush=True)
    import ctypes

    ctypes.string_at(0)


@task(timeout=1.0)
def prints_then_hangs():
    print("before the hang", flush=True)
    time.sleep(60)


@workflow(name="killed tasks")
def killed_tasks():
    prints_then_segfaults()
    prints_then_hangs()


@pytest.mark.parametrize("executor", [config_param("local"), config_param("dask")])
def test_what_a_killed_task_wrote_reaches_its_logs(home, configure, monkeypatch, tmp_path,
                                                     executor):
    configure(executor)
    monkeypatch.setenv("DATATAILR_STORAGE_URL", f"local://{tmp_path / 'object-store'}")
    run = killed_tasks(local_run=True, progress=False)
    assert run.state == "failed"
    assert run.logs("prints_then_segfaults") == "before the crash\n"
    assert "Fatal Python error: Segmentation fault" in run.logs("prints_then_segfaults",
                                                                stderr=True)
    assert run.logs("prints_then_hangs") == "before the hang\n"
