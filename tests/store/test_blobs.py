"""Blob storage: atomic results, logs, and any fsspec URL."""

from __future__ import annotations

import os

import pytest

from datatailr.store.blobs import BlobStore, UnpicklableResultError


@pytest.mark.parametrize("kind", ["folder", "memory"])
def test_results_round_trip_and_missing_ones_are_reported(tmp_path, kind):
    url = str(tmp_path / "blobs") if kind == "folder" else f"memory://dt-test-{id(tmp_path)}"
    store = BlobStore(url)
    store.save_result(3, 1, {"a": [1, 2]})
    assert store.load_result(3, 1) == {"a": [1, 2]}
    assert store.load_result(3, 2, default=None) is None
    with pytest.raises(KeyError):
        store.load_result(3, 2)
    assert (store.has_result(3, 1), store.has_result(3, 2)) == (True, False)
    store.delete_run(3)
    assert store.has_result(3, 1) is False


def test_an_unpicklable_result_leaves_nothing_behind(tmp_path):
    import threading

    store = BlobStore(str(tmp_path))
    with pytest.raises(UnpicklableResultError, match=r"_thread.lock\) cannot be pickled"):
        store.save_result(1, 0, threading.Lock())
    assert os.listdir(tmp_path) == []  # failed before its first frame: nothing was made
    with pytest.raises(UnpicklableResultError, match=r"list\) cannot be pickled: TypeError"):
        store.save_result(1, 1, ["x" * 200_000, threading.Lock()], inline_max=4096)
    assert os.listdir(tmp_path / "results" / "1") == []  # the partial file is removed


@pytest.mark.parametrize("where", ["local", "memory"])
def test_a_small_result_comes_back_as_its_pickle_and_writes_nothing(tmp_path, where):
    import pickle

    url = str(tmp_path) if where == "local" else f"memory://inline-{tmp_path.name}"
    store = BlobStore(url)
    small = store.save_result(7, 0, {"n": [1, 2, 3]}, inline_max=4096)
    assert (pickle.loads(small), store.has_result(7, 0)) == ({"n": [1, 2, 3]}, False)
    # one byte over the limit is a file, read back as before
    exact = store.save_result(7, 1, "y" * 100, inline_max=len(small))
    assert exact is None and store.load_result(7, 1) == "y" * 100
    # never inline without being asked, nor past the out-of-band size
    assert store.save_result(7, 2, 1) is None and store.load_result(7, 2) == 1
    big = bytes(range(256)) * 1024
    assert store.save_result(7, 3, big, inline_max=10 << 20) is None
    assert store.load_result(7, 3) == big


def test_logs_tail_and_remote_upload(tmp_path):
    local = BlobStore(str(tmp_path))
    with local.log_files(1, 0) as (out, err):
        with open(out, "w") as f:
            f.write("".join(f"line {i}\n" for i in range(10)))
    assert local.read_log(1, 0, "stdout", lines=2) == "line 8\nline 9\n"
    assert local.read_log(1, 0, "stderr") == ""
    remote = BlobStore(f"memory://dt-logs-{id(tmp_path)}")
    with remote.log_files(1, 0) as (out, err):
        with open(err, "w") as f:
            f.write("oops\n")
    assert (remote.read_log(1, 0, "stderr"), remote.local_log_path(1, 0, "stderr")) == (
        "oops\n", None)


def test_a_large_log_is_tailed_without_reading_it_whole(tmp_path):
    store = BlobStore(str(tmp_path))
    with store.log_files(1, 0) as (out, _):
        with open(out, "w") as f:
            for i in range(200_000):
                f.write(f"{i:08d} xxxxxxxxxxxxxxxxxxxxxxxx\n")
    assert store.read_log(1, 0, lines=3) == "".join(
        f"{i:08d} xxxxxxxxxxxxxxxxxxxxxxxx\n" for i in (199_997, 199_998, 199_999))


@pytest.mark.parametrize("remote", [False, True])
def test_each_attempt_of_a_task_reads_back_alone(tmp_path, remote):
    store = BlobStore(f"memory://dt-attempts-{id(tmp_path)}" if remote else str(tmp_path))

    def attempt(number, out, err=""):
        with store.log_files(7, 0, number) as (out_path, err_path):
            for path, text in ((out_path, out), (err_path, err)):
                if text:
                    with open(path, "a") as f:
                        f.write(text)

    attempt(1, "one\n", "boom\n")
    attempt(1, "", "crash reason of attempt 1\n")  # a second write of the same attempt
    attempt(2, "", "")  # wrote nothing
    attempt(3, "three\n")
    assert store.read_log(7, 0, "stdout", None) == "one\nthree\n"
    assert [store.read_log(7, 0, "stdout", None, attempt=n) for n in (1, 2, 3, 4)] == [
        "one\n", "", "three\n", ""]
    assert [store.read_log(7, 0, "stderr", None, attempt=n) for n in (1, 2, 3)] == [
        "boom\ncrash reason of attempt 1\n", "", ""]
    assert store.attempt_marks(7, 0) == {1: (0, 0), 2: (4, 31), 3: (4, 31)}
    # A task run once writes no marks: its logs stay two files.
    attempt_only = BlobStore(str(tmp_path / "single"))
    with attempt_only.log_files(1, 0, 1) as (out_path, _err):
        with open(out_path, "w") as f:
            f.write("x\n")
    assert sorted(os.listdir(tmp_path / "single" / "logs" / "1")) == ["0.out"]
