"""Storage through fsspec: a real S3 server (moto's, on 127.0.0.1) and a folder served by
fsspec, and what only a remote storage can lose.

A filesystem made before a fork is remade in the child (s3fs refuses to be used across a
fork). Logs are spooled on the worker's machine and uploaded when a task ends; a task killed
mid-run (segfault, timeout) never ends normally, so its executor uploads what it wrote.
"""

from __future__ import annotations

import multiprocessing
import pickle
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


def _in_forked_child(blobs, queue):
    try:
        before = blobs.get_bytes("made-by/parent")
        blobs.put_bytes("made-by/child", b"child")
        blobs.save_result(7, 1, {"from": "child"})
        queue.put((before, blobs.load_result(7, 0)))
    except BaseException as exc:  # noqa: BLE001 - report it to the test
        queue.put(("raised", f"{type(exc).__name__}: {exc}"))


@pytest.mark.s3
def test_a_filesystem_made_before_a_fork_works_in_the_child(s3_url):
    from datatailr.store.blobs import BlobStore

    blobs = BlobStore(s3_url)
    blobs.put_bytes("made-by/parent", b"parent")  # the parent's s3fs: loop, thread, sockets
    blobs.save_result(7, 0, [1, 2, 3])
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_in_forked_child, args=(blobs, queue))
    child.start()
    got = queue.get(timeout=30)
    child.join(30)
    assert (got, child.exitcode) == ((b"parent", [1, 2, 3]), 0)
    assert (blobs.get_bytes("made-by/child"), blobs.load_result(7, 1)) == (
        b"child", {"from": "child"})
    # Still usable here, and picklable as its URL only.
    assert pickle.loads(pickle.dumps(blobs)).get_bytes("made-by/child") == b"child"


@pytest.mark.s3
def test_s3_objects_appear_whole_with_no_temporary_names(s3_url):
    import s3fs

    from datatailr.store.blobs import BlobStore

    blobs = BlobStore(s3_url)
    blobs.save_result(3, 4, list(range(1000)))
    with blobs.log_files(3, 4) as (out, err):
        with open(out, "w") as f:
            f.write("hello\n")
    listing = s3fs.S3FileSystem().find(s3_url)
    root = s3_url[len("s3://"):]
    assert sorted(p[len(root) + 1:] for p in listing) == ["logs/3/4.out", "results/3/4.pkl"]
    assert (blobs.load_result(3, 4), blobs.read_log(3, 4)) == (list(range(1000)), "hello\n")
    with pytest.raises(KeyError, match="results/3/5.pkl"):
        blobs.load_result(3, 5)


@pytest.mark.parametrize("executor", [config_param("local"), config_param("dask"),
                                      config_param("s3"), config_param("s3-dask")])
def test_what_a_killed_task_wrote_reaches_its_logs(home, configure, monkeypatch, tmp_path,
                                                     executor):
    settings = configure(executor)
    if not settings.get("DATATAILR_STORAGE_URL", "").startswith("s3://"):
        monkeypatch.setenv("DATATAILR_STORAGE_URL", f"local://{tmp_path / 'object-store'}")
    run = killed_tasks(local_run=True, progress=False)
    assert run.state == "failed"
    assert run.logs("prints_then_segfaults") == "before the crash\n"
    assert "Fatal Python error: Segmentation fault" in run.logs("prints_then_segfaults",
                                                                stderr=True)
    assert run.logs("prints_then_hangs") == "before the hang\n"
