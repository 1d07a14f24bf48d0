"""Faults of local runs as a user meets them: real processes that crash, leave children
behind, or lose their caller. No timing: a regression shows as a wrong state (each workflow
has fail_after, so a task that is not seen to end makes the run ``failed_after``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from datatailr import Workflow, task, workflow

ROOT = Path(__file__).resolve().parents[2]


def alive(pid: int) -> bool:
    """Running, as opposed to gone or a zombie waiting for a reaper that may never come."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def wait_until(predicate, seconds=30.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def tasks_of(run):
    return {t["name"]: (t["state"], t["error"]) for t in run.run_details()["tasks"]}


def _write_pid(path: str, pid: int) -> None:
    with open(path + ".tmp", "w") as f:
        f.write(str(pid))
    os.replace(path + ".tmp", path)


def test_a_crashing_task_whose_forked_child_holds_its_pipe_fails_at_once(home, tmp_path):
    pid_file = str(tmp_path / "grandchild")

    @task()
    def crash():
        child = os.fork()
        if child == 0:  # a Python child: it inherits the worker's pipe to the controller
            time.sleep(3600)
            os._exit(0)
        _write_pid(pid_file, child)
        os._exit(3)

    @workflow(name="forked then crashed", fail_after=120)
    def wf():
        crash()

    run = wf(local_run=True, progress=False)
    assert run.state == "failed"
    [(state, error)] = tasks_of(run).values()
    assert state == "failed"
    assert error.startswith("Task crashed: the worker process running it exited with code 3")
    grandchild = int(open(pid_file).read())
    deadline = time.monotonic() + 10  # killed with the group at once; the kernel may lag
    while alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(grandchild)


def test_a_task_that_kills_itself_takes_its_subprocess_along(home, tmp_path):
    pid_file = str(tmp_path / "sleep")

    @task()
    def suicide():
        sleeper = subprocess.Popen(["sleep", "3600"])
        _write_pid(pid_file, sleeper.pid)
        os.kill(os.getpid(), signal.SIGKILL)

    @workflow(name="killed itself", fail_after=120)
    def wf():
        suicide()

    run = wf(local_run=True, progress=False)
    [(state, error)] = tasks_of(run).values()
    assert (run.state, state) == ("failed", "failed")
    assert error.startswith("Task crashed: the worker process running it killed by SIGKILL")
    assert not alive(int(open(pid_file).read()))


def test_processes_a_completed_task_left_behind_are_ended_and_its_worker_is_reused(home):
    @task()
    def leave_children():
        sleeper = subprocess.Popen(["sleep", "3600"])
        daemon = os.fork()  # a double fork: the grandchild is orphaned at once
        if daemon == 0:
            grandchild = os.fork()
            if grandchild == 0:
                time.sleep(3600)
                os._exit(0)
            with open(f"/tmp/dt-test-{os.getppid()}", "w") as f:
                f.write(str(grandchild))
            os._exit(0)
        os.waitpid(daemon, 0)
        with open(f"/tmp/dt-test-{os.getpid()}") as f:
            orphan = int(f.read())
        os.unlink(f"/tmp/dt-test-{os.getpid()}")
        return {"worker": os.getpid(), "left": [sleeper.pid, orphan]}

    @task()
    def next_task(previous):
        return {"worker": os.getpid(), "left_alive": [alive(p) for p in previous["left"]]}

    @workflow(name="left children", fail_after=120)
    def wf():
        next_task(leave_children())

    run = wf(local_run=True, progress=False)
    assert run.state == "completed"
    first, second = run.result("leave_children"), run.result("next_task")
    # The next task ran in the same worker (it survived the sweep) after everything was gone.
    assert second == {"worker": first["worker"], "left_alive": [False, False]}
    assert [alive(p) for p in first["left"]] == [False, False]


def test_a_timed_out_task_takes_its_subprocess_along(home, tmp_path):
    pid_file = str(tmp_path / "sleep")

    @task(timeout=0.5)
    def stuck():
        sleeper = subprocess.Popen(["sleep", "3600"])
        _write_pid(pid_file, sleeper.pid)
        sleeper.wait()

    @workflow(name="timed out", fail_after=120)
    def wf():
        stuck()

    run = wf(local_run=True, progress=False)
    assert tasks_of(run) == {"stuck": (
        "failed", "TimeoutError: task exceeded its timeout of 0.5 s and was killed")}
    assert not alive(int(open(pid_file).read()))


def test_a_task_that_reads_stdin_reads_nothing_instead_of_waiting_for_a_terminal(home):
    @task()
    def read_input():
        return subprocess.run(["cat"], stdout=subprocess.PIPE, check=True).stdout

    @workflow(name="no stdin", fail_after=120)
    def wf():
        read_input()

    run = wf(local_run=True, progress=False)
    assert (tasks_of(run), run.result("read_input")) == ({"read_input": ("completed", None)}, b"")


KILLED_CALLER = textwrap.dedent('''
    import os, sys, time
    from datatailr import task, workflow

    @task()
    def sleepy(i):
        with open(os.path.join(sys.argv[1], f"worker-{i}"), "w") as f:
            f.write(str(os.getpid()))
        time.sleep(3600)

    @workflow(name="orphaned", fail_after=600)
    def wf():
        sleepy(1)
        sleepy(2)

    wf(local_run=True, progress=False)
''')


def test_when_the_caller_is_killed_its_workers_die_and_the_run_reads_unknown(home, tmp_path):
    (tmp_path / "orphaned.py").write_text(KILLED_CALLER)
    env = {**os.environ, "DATATAILR_HOME": str(home), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, str(tmp_path / "orphaned.py"), str(tmp_path)],
                            env=env, start_new_session=True, stdout=subprocess.DEVNULL)
    files = [tmp_path / "worker-1", tmp_path / "worker-2"]
    assert wait_until(lambda: all(f.exists() for f in files))
    workers = [int(f.read_text()) for f in files]

    def both_running():
        runs = Workflow("orphaned").runs(refresh=True)
        return bool(runs) and [t["state"] for t in Workflow("orphaned").run_details(
            runs[0]["run_id"])["tasks"]] == ["running", "running"]

    assert wait_until(both_running)
    assert [alive(p) for p in workers] == [True, True]
    os.kill(proc.pid, signal.SIGKILL)  # the caller only, not its process group
    proc.wait()
    assert wait_until(lambda: not any(alive(p) for p in workers), seconds=10)
    [run] = Workflow("orphaned").runs()
    assert run["state"] == "unknown"
    details = Workflow("orphaned").run_details(run["run_id"])
    assert [(t["state"], t["error"]) for t in details["tasks"]] == [
        ("unknown", "The process running it died."), ("unknown", "The process running it died.")]


# -- resources: measured for every attempt, enforced where memory= is given --------------------

def task_rows(run):
    """The stored task rows (peak_rss and cpu_seconds are columns of the store)."""
    from datatailr.scheduler.platform import current_platform

    return {t["name"]: t for t in current_platform().metadata.task_runs(run.run_id)}


def test_every_task_attempt_records_its_peak_memory_cpu_and_host(home):
    import socket

    @task()
    def burn():
        end = time.process_time() + 0.3
        while time.process_time() < end:
            pass
        return 1

    @task()
    def hold(n):
        data = b"x" * (40 * 2**20)
        return len(data) + n

    @task()
    def child_process(_n):
        # a child with 60 MB of its own: its peak counts (it is bigger than the worker's)
        subprocess.run([sys.executable, "-c", "x = b'x' * (60 * 2**20)"], check=True)

    @task()
    def crash(_n):
        os._exit(2)

    @workflow(name="usage", fail_after=120)
    def wf():
        child_process(hold(burn()))
        crash(1)

    run = wf(local_run=True, progress=False)
    rows = task_rows(run)
    assert {n: r["state"] for n, r in rows.items()} == {
        "burn": "completed", "hold": "completed", "child_process": "completed",
        "crash": "failed"}
    assert {n: r["host"] for n, r in rows.items()} == dict.fromkeys(rows, socket.gethostname())
    assert rows["burn"]["cpu_seconds"] >= 0.3
    assert 40 * 2**20 <= rows["hold"]["peak_rss"] < 200 * 2**20
    # A forked child's RSS includes pages it shares with its parent (a big test process):
    # only the lower bound is the task's own.
    assert 60 * 2**20 <= rows["child_process"]["peak_rss"] < 2**30
    assert all(isinstance(r["peak_rss"], int) and isinstance(r["cpu_seconds"], float)
               for r in rows.values())


def test_a_task_over_its_memory_limit_is_killed_and_says_so(home):
    @task(memory="50m")
    def hog():
        data = b"x" * (200 * 2**20)
        time.sleep(3600)  # holds it: the watchdog kills it, the task never returns
        return len(data)

    @workflow(name="memory hog", fail_after=120)
    def wf():
        hog()

    run = wf(local_run=True, progress=False)
    row = task_rows(run)["hog"]
    assert (run.state, row["state"]) == ("failed", "failed")
    assert row["error"].startswith("MemoryError: the task exceeded memory=50m (peak ")
    assert row["error"].endswith(" MB) and was killed")
    peak_mb = int(row["error"].split("(peak ")[1].split(" MB")[0])
    assert peak_mb >= 50 and row["peak_rss"] > 50 * 2**20


def test_a_task_that_peaks_over_its_limit_and_returns_fails_without_a_result(home):
    @task()
    def spike():
        data = b"x" * (120 * 2**20)
        return len(data)

    @workflow(name="memory spike", fail_after=120)
    def wf():
        spike().set_resources(memory="64m")

    from datatailr.scheduler.platform import current_platform

    run = wf(local_run=True, progress=False)
    row = task_rows(run)["spike"]
    assert row["state"] == "failed"
    # Seen by the watchdog while allocating (killed), or by the worker once it returned.
    peak_mb = int(row["error"].split("(peak ")[1].split(" MB")[0])
    assert row["error"] in (f"MemoryError: the task exceeded memory=64m (peak {peak_mb} MB)",
                            f"MemoryError: the task exceeded memory=64m (peak {peak_mb} MB) "
                            f"and was killed")
    assert peak_mb > 64
    assert current_platform().blobs.has_result(run.run_id, 0) is False


def test_a_task_under_its_limit_completes_with_its_peak_recorded(home):
    @task(memory="300m")
    def modest():
        data = b"x" * (30 * 2**20)
        time.sleep(0.3)  # long enough to be sampled too
        return len(data)

    @task(cpu=2)  # resources without memory: the default is never a limit
    def unlimited():
        return len(b"x" * (200 * 2**20))

    @workflow(name="within limits", fail_after=120)
    def wf():
        modest()
        unlimited()

    run = wf(local_run=True, progress=False)
    rows = task_rows(run)
    assert {n: (r["state"], r["error"]) for n, r in rows.items()} == {
        "modest": ("completed", None), "unlimited": ("completed", None)}
    assert 30 * 2**20 <= rows["modest"]["peak_rss"] < 300 * 2**20
    assert rows["unlimited"]["peak_rss"] >= 200 * 2**20
    assert run.result("modest") == 30 * 2**20


def test_a_result_that_does_not_fit_on_the_disk_is_a_disk_full_error_naming_the_path(
        home, tmp_path, monkeypatch):
    import pytest

    storage = tmp_path / "small-disk"
    storage.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(storage)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        monkeypatch.setenv("DATATAILR_STORAGE_URL", str(storage))

        @task()
        def big():
            return b"x" * (8 * 2**20)

        @workflow(name="disk full", fail_after=120)
        def wf():
            big()

        run = wf(local_run=True, progress=False)
        [(state, error)] = tasks_of(run).values()
        assert state == "failed"
        assert error.startswith("Disk full: cannot store the result of task 0 of run ")
        assert f" at {storage}/" in error and error.endswith("(No space left on device).")
    finally:
        subprocess.run(["umount", "-l", str(storage)], check=True)
