"""The local executor: a pool of forked worker processes, grown on demand, reused across tasks.

Why fork: a forked worker sees exactly what the caller's process saw (sys.path entries added
at run time, environment variables, loggers configured at import, functions defined in
``__main__`` or a notebook) and starts in about a millisecond, so every ready task gets a
process at once - independent tasks never wait for each other, even on 2 cores - while a
small task on a warm worker costs a pipe round trip. Processes, not threads: a task that
crashes, leaks or calls ``os._exit`` takes down its worker only, which is replaced.

A task's end is its worker's process ending (a pidfd in the poll set), not its pipe closing:
a process the task forked may hold the pipe open long after. When a worker ends, or is
killed (timeout, stop, memory limit), its whole process group is killed with it; a worker
dies with the caller (``processes.become_task_root``). While a task runs, the memory of its
process tree is sampled - often for a task with a ``memory=`` limit, which is killed above
it, lazily for the others (their own peak comes exact from the worker).
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import time
from collections import deque
from typing import Any

from datatailr.core.dag import NodeSpec
from datatailr.engine.processes import RU_MAXRSS_BYTES, kill_group, memory_error, pidfd, tree_rss
from datatailr.engine.worker import (
    TaskCall,
    TaskIO,
    TaskOutcome,
    fork_child,
    prepare_forked_worker,
    worker_loop,
)

#: With tasks queued and none finished for this long, the pool adds a worker.
GROW_AFTER = 0.004
#: ... and, while it stays that way, looks again this long after its last fork.
GROW_AGAIN = 0.001
#: how often the memory of a running task's process tree is sampled: with a memory limit,
#: and without one (where the worker's own measure is exact, a sample only adds children)
LIMIT_SAMPLE_SECONDS = 0.025
SAMPLE_SECONDS = 0.25


def _on_cpu(pid: int) -> bool:
    """Whether the process is running or ready to run (state R), not sleeping or waiting
    on I/O; a process that cannot be read is not."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] == b"R"
    except (OSError, IndexError):
        return False


class _Worker:
    __slots__ = ("pid", "conn", "pidfd", "task_id", "run_id", "limit", "rss0", "cpu0",
                 "peak", "next_sample", "fatal")

    def __init__(self, pid: int, conn: Any, pidfd_: int | None) -> None:
        self.pid = pid
        self.conn = conn
        self.pidfd = pidfd_
        self.task_id: int | None = None
        self.run_id: int | None = None
        self.limit: int | None = None
        #: the worker's resident bytes and CPU seconds when its current attempt began
        self.rss0: int | None = None
        self.cpu0: float | None = None
        #: the largest sampled memory of the current attempt's process tree, beyond rss0
        self.peak = 0
        self.next_sample = 0.0
        #: the traceback a worker sent before dying of an error of its own
        self.fatal: str | None = None


def describe_exit(status: int) -> str:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        return f"killed by {name}"
    if os.WIFEXITED(status):
        return f"exited with code {os.WEXITSTATUS(status)}"
    return f"ended with status {status}"


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


class LocalExecutor:
    """Runs task calls in forked workers. Messages out of ``wait``:

    ``("started", task_id, time, pid, host)``, ``("done", TaskOutcome)``,
    ``("died", task_id, why, peak_rss, cpu_seconds)``.
    """

    def __init__(self, nodes: tuple[NodeSpec, ...], io_: TaskIO, max_workers: int = 32) -> None:
        self.nodes = nodes
        self.io = io_
        self.max_workers = max(1, max_workers)
        self.workers: list[_Worker] = []
        self.idle: deque[_Worker] = deque()
        self.queue: deque[TaskCall] = deque()
        self.by_task: dict[int, _Worker] = {}
        self.cores = os.cpu_count() or 1
        self.poller = select.poll()
        self.by_fd: dict[int, _Worker] = {}
        self.last_progress = time.monotonic()
        self.last_fork = 0.0

    # -- pool -----------------------------------------------------------------------------
    def _fork(self) -> _Worker:
        def serve(conn: Any) -> None:
            for w in self.workers:  # other workers' pipes: their deaths must stay visible
                with contextlib.suppress(OSError):
                    w.conn.close()
                if w.pidfd is not None:
                    with contextlib.suppress(OSError):
                        os.close(w.pidfd)
            prepare_forked_worker()
            worker_loop(conn, self.nodes, self.io)

        pid, parent_conn = fork_child(serve, report_fatal=True)
        worker = _Worker(pid, parent_conn, pidfd(pid))
        self.workers.append(worker)
        self.by_fd[parent_conn.fileno()] = worker
        self.poller.register(parent_conn.fileno(), select.POLLIN)
        if worker.pidfd is not None:
            self.by_fd[worker.pidfd] = worker
            self.poller.register(worker.pidfd, select.POLLIN)
        return worker

    def submit(self, call: TaskCall) -> None:
        self.queue.append(call)
        self._dispatch()

    def _may_grow(self) -> int:
        """How many workers to add for queued tasks? At once up to the core count; beyond
        that only while no task has finished for GROW_AFTER seconds - the pool is not keeping
        up - and fewer busy workers than cores are on the CPU: then some are waiting on
        something else (sleep, I/O, a service), and as many ready tasks as there are idle
        cores get a process of their own (looking again GROW_AGAIN after, when the new
        workers' tasks have had a moment to show whether they wait too). Tasks that are merely slow on the CPU never get
        more workers than cores (more would only share the cores and slow everything else),
        and a stream of quick tasks never forks a crowd."""
        room = self.max_workers - len(self.workers)
        if room <= 0:
            return 0
        if len(self.workers) < self.cores:
            return min(room, self.cores - len(self.workers))
        if time.monotonic() < self._next_growth():
            return 0
        on_cpu = sum(1 for w in self.by_task.values() if _on_cpu(w.pid))
        return min(room, max(self.cores - on_cpu, 0))

    def _next_growth(self) -> float:
        """When the pool, past the core count, may next look at adding workers."""
        return max(self.last_progress + GROW_AFTER, self.last_fork + GROW_AGAIN)

    def _dispatch(self) -> None:
        grow = 0
        while self.queue:
            if self.idle:
                worker = self.idle.popleft()
            elif grow or (grow := self._may_grow()):
                worker = self._fork()
                grow -= 1
                self.last_fork = time.monotonic()
            else:
                return
            call = self.queue.popleft()
            worker.task_id, worker.run_id = call.task_id, call.run_id
            worker.limit, worker.rss0, worker.cpu0, worker.peak = call.memory_limit, None, None, 0
            self.by_task[call.task_id] = worker
            try:
                worker.conn.send(call)
            except (BrokenPipeError, OSError):  # it died while idle: replace it
                self.queue.appendleft(call)
                worker.task_id = None
                del self.by_task[call.task_id]
                self._reap(worker)

    def wait(self, timeout: float | None) -> list[tuple]:
        """Messages from workers, waiting at most ``timeout`` seconds for the first one."""
        if not self.by_task:
            if timeout:
                time.sleep(min(timeout, 0.05))
            return []
        if self.queue and len(self.workers) < self.max_workers:
            grow_in = max(self._next_growth() - time.monotonic(), GROW_AGAIN)
            timeout = grow_in if timeout is None else min(timeout, grow_in)
        now = time.monotonic()
        sample_at = min((w.next_sample for w in self.by_task.values() if w.rss0 is not None),
                        default=None)
        if sample_at is not None:
            timeout = max(0.0, sample_at - now) if timeout is None \
                else min(timeout, max(0.0, sample_at - now))
        # One poll object for the pool's life: idle workers are watched too, so a worker that
        # dies between tasks is replaced at once.
        events = self.poller.poll(None if timeout is None else max(0, int(timeout * 1000) or 1))
        messages: list[tuple] = []
        for fd, _mask in events:
            worker = self.by_fd.get(fd)
            if worker is None:
                continue
            if fd == worker.pidfd:  # the process ended: what it sent first, then its death
                self._receive(worker, messages, drain=True)
                if worker in self.workers:
                    messages.append(self._died(worker))
            else:
                self._receive(worker, messages, drain=False)
        if any(w.pidfd is None for w in self.by_task.values()):
            self._check_exits(messages)
        if sample_at is not None and time.monotonic() >= sample_at:
            self._sample(messages)
        self._dispatch()
        return messages

    def _receive(self, worker: _Worker, messages: list[tuple], drain: bool) -> None:
        conn = worker.conn
        while True:
            if drain and not conn.poll(0):
                return
            try:
                msg = conn.recv()
            except (EOFError, OSError):
                if worker in self.workers:
                    messages.append(self._died(worker))
                return
            kind = msg[0]
            if kind == "started":
                worker.rss0, worker.cpu0 = msg[5], msg[6]
                worker.next_sample = time.monotonic() + (
                    LIMIT_SAMPLE_SECONDS if worker.limit is not None else SAMPLE_SECONDS)
                messages.append(msg[:5])
            elif kind == "done":
                self.last_progress = time.monotonic()
                outcome: TaskOutcome = msg[1]
                if worker.peak and (outcome.peak_rss or 0) < worker.peak:
                    outcome = outcome._replace(peak_rss=worker.peak)
                self.by_task.pop(outcome.task_id, None)
                worker.task_id = None
                self.idle.append(worker)
                messages.append(("done", outcome))
                if not drain:
                    return
            elif kind == "fatal":
                worker.fatal = msg[1]
            if not drain and not conn.poll():
                return

    def _check_exits(self, messages: list[tuple]) -> None:
        """Without pidfds: ask the kernel whether each busy worker has ended."""
        for worker in list(self.by_task.values()):
            if worker.pidfd is None and os.waitid(os.P_PID, worker.pid,
                                                  os.WEXITED | os.WNOHANG | os.WNOWAIT):
                self._receive(worker, messages, drain=True)
                if worker in self.workers:
                    messages.append(self._died(worker))

    def _sample(self, messages: list[tuple]) -> None:
        now = time.monotonic()
        for worker in list(self.by_task.values()):
            if worker.rss0 is None or now < worker.next_sample:
                continue
            used = tree_rss(worker.pid) - worker.rss0
            worker.peak = max(worker.peak, used)
            if worker.limit is not None and used > worker.limit:
                messages.append(self._over_limit(worker))
                continue
            worker.next_sample = now + (
                LIMIT_SAMPLE_SECONDS if worker.limit is not None else SAMPLE_SECONDS)

    def _over_limit(self, worker: _Worker) -> tuple:
        task_id, limit = worker.task_id, worker.limit
        assert task_id is not None and limit is not None
        self.by_task.pop(task_id, None)
        worker.task_id = None
        _, peak, cpu = self._reap(worker)
        self._salvage_logs(worker.pid, worker.run_id, task_id)
        error = f"{memory_error(limit, peak or worker.peak)} and was killed"
        return ("done", TaskOutcome(task_id, False, None, time.time(), error, peak, cpu))

    def _died(self, worker: _Worker) -> tuple:
        task_id = worker.task_id
        if task_id is not None:
            self.by_task.pop(task_id, None)
        status, peak, cpu = self._reap(worker)
        if task_id is not None:
            self._salvage_logs(worker.pid, worker.run_id, task_id)
        why = f"the worker process running it {describe_exit(status)} (pid {worker.pid})"
        if worker.fatal:
            why += f": {_last_line(worker.fatal)}"
        return ("died", task_id, why, peak, cpu)

    def _reap(self, worker: _Worker) -> tuple[int, int | None, float | None]:
        """Kill the worker's process group, wait for the worker; returns its wait status and
        what its current attempt used (peak bytes beyond its start, CPU seconds), if known."""
        for fd in [f for f, w in self.by_fd.items() if w is worker]:
            del self.by_fd[fd]
            with contextlib.suppress(KeyError, ValueError):
                self.poller.unregister(fd)
        kill_group(worker.pid)
        with contextlib.suppress(OSError):
            worker.conn.close()
        if worker.pidfd is not None:
            with contextlib.suppress(OSError):
                os.close(worker.pidfd)
        status, rusage = 0, None
        with contextlib.suppress(ChildProcessError):
            _, status, rusage = os.wait4(worker.pid, 0)
        if worker in self.workers:
            self.workers.remove(worker)
        with contextlib.suppress(ValueError):
            self.idle.remove(worker)
        if rusage is None or worker.rss0 is None or worker.cpu0 is None:
            return status, (worker.peak or None), None
        peak = max(worker.peak, rusage.ru_maxrss * RU_MAXRSS_BYTES - worker.rss0, 0)
        cpu = round(max(rusage.ru_utime + rusage.ru_stime - worker.cpu0, 0.0), 6)
        return status, peak, cpu

    def cancel(self, task_id: int) -> tuple[int | None, float | None] | None:
        """Kill the worker running ``task_id`` and what it started (timeouts, stops); its
        death is not reported. Returns what the attempt used (peak bytes, CPU seconds)."""
        worker = self.by_task.pop(task_id, None)
        if worker is None:
            self.queue = deque(c for c in self.queue if c.task_id != task_id)
            return None
        worker.task_id = None
        _, peak, cpu = self._reap(worker)
        self._salvage_logs(worker.pid, worker.run_id, task_id)
        return peak, cpu

    def _salvage_logs(self, pid: int, run_id: int | None, task_id: int) -> None:
        """What a killed task wrote still reaches its logs (remote storage uploads them when
        a task ends, which a killed one never does)."""
        salvage = getattr(self.io, "salvage_logs", None)
        if salvage is not None and run_id is not None:
            with contextlib.suppress(Exception):
                salvage(pid, run_id, task_id)

    def shutdown(self) -> None:
        for worker in list(self.workers):
            if worker.task_id is not None:
                kill_group(worker.pid)
            else:
                with contextlib.suppress(OSError):
                    worker.conn.send(None)
        for worker in list(self.workers):
            with contextlib.suppress(OSError):
                worker.conn.close()
            if worker.pidfd is not None:
                with contextlib.suppress(OSError):
                    os.close(worker.pidfd)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(worker.pid, 0)
        self.workers.clear()
        self.idle.clear()
        self.by_task.clear()
        self.by_fd.clear()
