"""The store under faults, as a user meets them: another process holding the write lock,
a store that stays unwritable, a full disk, other users, missing results, planted symlinks."""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import subprocess
import sys
import threading
import time

import pytest

from datatailr.errors import StorageError
from tests.fixtures import spec_workflows, store_fault_workflows

HOLD_LOCK = ("import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1], isolation_level=None);"
             "c.execute('BEGIN IMMEDIATE'); print('locked', flush=True); "
             "time.sleep(float(sys.argv[2]))")


@contextlib.contextmanager
def lock_holder(home, seconds):
    """When the run's first task asks, another process takes the database's write lock and
    holds it for ``seconds``."""
    holders = []

    def serve():
        while not (home / "lock.wanted").exists():
            time.sleep(0.01)
        holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(home / "datatailr.db"),
                                   str(seconds)], stdout=subprocess.PIPE, text=True)
        holders.append(holder)
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        (home / "lock.held").write_text(str(holder.pid))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield holders
    finally:
        for holder in holders:
            with contextlib.suppress(ProcessLookupError):
                os.kill(holder.pid, signal.SIGKILL)
            holder.wait()


def test_a_run_goes_on_while_another_process_holds_the_write_lock(home, monkeypatch, capfd):
    with lock_holder(home, 3):
        run = store_fault_workflows.locked_out(local_run=True, progress=False)
    details = run.run_details()
    pid = run.result("take_the_write_lock")
    assert (details["state"], [(t["name"], t["state"], t["attempts"]) for t in details["tasks"]],
            run.result("after_the_lock"), run.result("beside_the_lock")) == (
        "completed", [("take_the_write_lock", "completed", 1), ("after_the_lock", "completed", 1),
                      ("beside_the_lock", "completed", 1)], pid + 1, pid + 2)
    err = capfd.readouterr().err
    assert f"datatailr: run {run.run_id}: cannot record its progress for now (the metadata " \
           f"database {home / 'datatailr.db'} is locked" in err
    assert f"datatailr: run {run.run_id}: the store is writable again; its record is up to " \
           f"date." in err


def test_a_store_that_stays_unwritable_ends_the_run_unknown_with_one_line(home, monkeypatch,
                                                                          capfd):
    monkeypatch.setenv("DATATAILR_STORE_RETRY_SECONDS", "1")
    with lock_holder(home, 6):
        run = store_fault_workflows.locked_out(local_run=True, progress=False)
        # The lock is still held: the read shows the truth without waiting to write it.
        t0 = time.monotonic()
        shown = run.state
        assert (shown, time.monotonic() - t0 < 3) == ("unknown", True)
    err = capfd.readouterr().err
    lines = [line for line in err.splitlines() if "stayed unwritable" in line]
    assert lines == [f"datatailr: run {run.run_id}: the store stayed unwritable for 1 s (the "
                     f"metadata database {home / 'datatailr.db'} is locked: another process "
                     f"held its write lock past the busy timeout (database is locked)); its "
                     f"record stops here and the run will read as unknown."]
    time.sleep(0.2)
    details = run.run_details()  # now writable: the row itself says unknown
    assert (details["state"], details["error"]) == ("unknown", "This process stopped recording it.")
    # No task row shows a state it did not reach: the first task's end was never recorded.
    assert [t["state"] for t in details["tasks"]][1:] in (
        ["pending", "pending"], ["did_not_run", "did_not_run"])


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_fails_the_task_saying_disk_full_with_the_path(small_disk, monkeypatch):
    home = small_disk / "home"
    monkeypatch.setenv("DATATAILR_HOME", str(home))
    run = store_fault_workflows.fills_the_disk(local_run=True, progress=False)
    details = run.run_details()
    [small, big] = details["tasks"]
    assert (details["state"], small["state"], big["state"]) == ("failed", "completed", "failed")
    from datatailr.scheduler.platform import current_platform

    blobs = current_platform().blobs
    where = blobs.path(blobs.result_key(run.run_id, 1))
    assert big["error"] == (f"Disk full: cannot store the result of task 1 of run "
                            f"{run.run_id} at {where} (No space left on device).")
    assert run.result("small") == "fits"  # kept with its row, in the metadata store
    assert os.listdir(os.path.dirname(where)) == []  # no partial file left behind


def test_everything_in_the_home_is_private_under_umask_022(tmp_path, monkeypatch):
    outer = tmp_path / "shared-machine"
    outer.mkdir()
    os.chmod(tmp_path, 0o755)
    os.chmod(outer, 0o755)
    home = outer / "home"
    monkeypatch.setenv("DATATAILR_HOME", str(home))
    old = os.umask(0o022)
    try:
        run = spec_workflows.sales_pipeline(local_run=True, progress=False)
    finally:
        os.umask(old)
    modes = set()
    for folder, _dirs, files in os.walk(home):
        modes.add(("dir", stat.S_IMODE(os.stat(folder).st_mode)))
        modes |= {("file", stat.S_IMODE(os.stat(os.path.join(folder, f)).st_mode)) for f in files}
    assert modes == {("dir", 0o700), ("file", 0o600)}
    assert run.state == "completed"
    if os.getuid() == 0:  # another local user cannot read the database or a result
        for target in (home / "datatailr.db", home):
            done = subprocess.run(["su", "nobody", "-s", "/bin/sh", "-c", f"ls -l {target}"],
                                  capture_output=True, text=True)
            assert (done.returncode, "Permission denied" in done.stderr) == (2, True), done


def test_an_older_loose_home_is_tightened_once_saying_so(tmp_path, monkeypatch, capsys):
    from datatailr.scheduler.platform import make_private_home

    home = tmp_path / "loose"
    (home / "storage").mkdir(parents=True)
    os.chmod(home, 0o755)
    (home / "storage" / "x.pkl").write_bytes(b"1")
    os.chmod(home / "storage" / "x.pkl", 0o644)
    make_private_home(home)
    make_private_home(home)
    assert capsys.readouterr().err == (f"datatailr: {home} was readable by other users; made it "
                                       f"private to you (0700 folders, 0600 files; 3 entries "
                                       f"changed).\n")
    assert [stat.S_IMODE(p.stat().st_mode) for p in (home, home / "storage",
                                                      home / "storage" / "x.pkl")] == [
        0o700, 0o700, 0o600]


def test_a_missing_result_is_an_error_naming_run_task_and_path(home, monkeypatch):
    from datatailr.scheduler import execution
    from datatailr.scheduler.platform import current_platform
    from tests.cli.conftest import dt

    monkeypatch.setattr(execution, "INLINE_MAX", 0)  # every result a file in storage
    run = spec_workflows.sales_pipeline(local_run=True, progress=False)
    blobs = current_platform().blobs
    where = blobs.path(blobs.result_key(run.run_id, 0))
    os.unlink(where)
    with pytest.raises(StorageError) as err:
        run.result("fetch_data")
    assert str(err.value) == (
        f"The result of task 'fetch_data' of run {run.run_id} is missing from storage: {where}. "
        f"It completed, so it was stored; the file was removed or the storage changed. Rerun "
        f"the task: Workflow('daily_sales_report').rerun({run.run_id}, full=True).")
    result = dt("result", "get", "daily_sales_report", "-i", str(run.run_id), "--task",
                "fetch_data")
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", f"Error: {err.value}\n")
    assert run.result("calculate_total") == 450  # the rest is still there


def test_a_symlink_planted_in_the_log_folder_is_never_written_through(home, tmp_path):
    from datatailr.scheduler.platform import current_platform

    first = spec_workflows.sales_pipeline(local_run=True, progress=False)
    blobs = current_platform().blobs
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    next_run = first.run_id + 1
    logs = os.path.dirname(blobs.path(blobs.log_key(next_run, 0, "stdout")))
    os.makedirs(logs, mode=0o700)
    os.symlink(victim, blobs.path(blobs.log_key(next_run, 0, "stdout")))
    run = spec_workflows.sales_pipeline(local_run=True, progress=False)
    assert run.run_id == next_run
    assert victim.read_text() == "precious\n"
    assert run.state == "failed"
    [fetch] = [t for t in run.run_details()["tasks"] if t["name"] == "fetch_data"]
    assert fetch["state"] == "failed"


def test_a_small_result_missing_from_the_store_is_an_error_too(home):
    from datatailr.scheduler.platform import current_platform
    from datatailr.store import metadata

    run = spec_workflows.sales_pipeline(local_run=True, progress=False)
    meta = current_platform().metadata
    assert meta.inline_result(run.run_id, 0) is not None
    with meta.write() as conn:
        conn.execute(metadata.task_results.delete().where(
            metadata.task_results.c.run_id == run.run_id, metadata.task_results.c.task_id == 0))
    blobs = current_platform().blobs
    with pytest.raises(StorageError) as err:
        run.result("fetch_data")
    assert str(err.value) == (
        f"The result of task 'fetch_data' of run {run.run_id} is missing from storage: "
        f"{blobs.path(blobs.result_key(run.run_id, 0))}. It completed, so it was stored; the "
        f"file was removed or the storage changed. Rerun the task: "
        f"Workflow('daily_sales_report').rerun({run.run_id}, full=True).")


def test_results_of_a_recreated_database_never_overwrite_the_old_ones(home, monkeypatch):
    from datatailr.scheduler import execution
    from datatailr.scheduler.platform import current_platform
    from datatailr.store import metadata

    monkeypatch.setattr(execution, "INLINE_MAX", 0)  # results that are files in storage

    first = spec_workflows.sales_pipeline(local_run=True, progress=False)
    old = current_platform().blobs
    old_path = old.path(old.result_key(first.run_id, 1))
    current_platform().metadata.dispose()
    for suffix in ("", "-wal", "-shm"):
        (home / f"datatailr.db{suffix}").unlink(missing_ok=True)
    metadata._STORES.clear()
    from datatailr.scheduler import platform as platform_mod

    platform_mod._CURRENT.clear()
    second = spec_workflows.sales_pipeline(local_run=True, progress=False)
    new = current_platform().blobs
    assert (second.run_id, new.namespace != old.namespace) == (first.run_id, True)
    assert new.path(new.result_key(second.run_id, 1)) != old_path
    import pickle

    with open(old_path, "rb") as f:
        assert pickle.load(f) == 450
